module github.com/netdeconv/deconv/internal/_gen

go 1.24
