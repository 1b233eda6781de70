package gemm

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/errs"
	"github.com/netdeconv/deconv/internal/isa"
	"github.com/netdeconv/deconv/internal/size"
)

// Shifted is a matrix of stacked shifted windows of one pixel-major array
// (channels innermost, as NHWC): row tap·ch + c, column p is channel c of
// pixel offs[tap] + p,
//
//	X[tap*ch + c][p] = data[(offs[tap]+p)*ch + c]
//
// so it is rows = len(offs)·ch by cols. It is the patch matrix of a
// stride-1 convolution laid over a zero-padded image with no im2col
// buffer: every tap of the kernel is the image shifted by a constant
// number of pixels. Its row panels are runs of consecutive channels of
// each pixel, which pack by short contiguous copies instead of a
// transpose. Build it with Set; the zero value is an empty matrix. A
// product sets the family its copies run with on the Shifted itself, so
// one Shifted serves one product at a time.
type Shifted[T Float] struct {
	data       []T
	ch         int
	offs       []int
	rows, cols int
	// fam is the family whose copies pack it, set by the product that
	// uses it (see withFamily).
	fam isa.Family
}

// Set makes s the Shifted matrix of cols columns over data with ch
// channels per pixel and one tap per element of offs (kept, not copied).
// It returns an error wrapping errs.ErrParam for a negative size or
// offset, errs.ErrOverflow when the sizes overflow, and errs.ErrShape when
// data is too short for the last pixel a tap reads; s is then unchanged.
func (s *Shifted[T]) Set(data []T, ch int, offs []int, cols int) error {
	if ch <= 0 || cols < 0 {
		return fmt.Errorf("%w: gemm: shifted matrix of %d channels, %d columns", errs.ErrParam, ch, cols)
	}
	rows, ok := size.Mul(len(offs), ch)
	if !ok {
		return fmt.Errorf("%w: gemm: %d taps of %d channels", errs.ErrOverflow, len(offs), ch)
	}
	maxOff := 0
	for _, o := range offs {
		if o < 0 {
			return fmt.Errorf("%w: gemm: negative tap offset %d", errs.ErrParam, o)
		}
		maxOff = max(maxOff, o)
	}
	if rows > 0 && cols > 0 {
		need, ok := size.MulAdd(maxOff+cols-1, ch, ch)
		if !ok || maxOff+cols-1 < maxOff {
			return fmt.Errorf("%w: gemm: shifted matrix reaching pixel %d+%d of %d channels", errs.ErrOverflow, maxOff, cols, ch)
		}
		if len(data) < need {
			return fmt.Errorf("%w: gemm: shifted matrix needs %d elements, has %d", errs.ErrShape, need, len(data))
		}
	}
	s.data, s.ch, s.offs, s.rows, s.cols = data, ch, offs, rows, cols
	return nil
}

// Dims implements Packer.
func (s *Shifted[T]) Dims() (rows, cols int) { return s.rows, s.cols }

// PackRows implements Packer: each panel row is one or, where a panel
// straddles two taps, a few runs of consecutive channels of one pixel.
func (s *Shifted[T]) PackRows(dst []T, r0, nr, c0, nc, w int) {
	nq := (nr + w - 1) / w
	for q := 0; q < nq; q++ {
		d := dst[q*nc*w : (q+1)*nc*w]
		ra, rb := r0+q*w, min(r0+q*w+w, r0+nr)
		i := 0
		for r := ra; r < rb; {
			tap, c := r/s.ch, r%s.ch
			n := min(rb-r, s.ch-c)
			src := s.data[(s.offs[tap]+c0)*s.ch+c:]
			copyRuns(s.fam, d[i:], w, src, s.ch, nc, n)
			i += n
			r += n
		}
		if i < w {
			for p := 0; p < nc; p++ {
				clear(d[p*w+i : p*w+w])
			}
		}
	}
}

// PackCols implements Packer: column panels gather across pixels, an
// element at a time (products use Shifted as their left operand).
func (s *Shifted[T]) PackCols(dst []T, r0, nr, c0, nc, w int) {
	nq := (nc + w - 1) / w
	for q := 0; q < nq; q++ {
		d := dst[q*nr*w : (q+1)*nr*w]
		for p := 0; p < nr; p++ {
			r := r0 + p
			tap, c := r/s.ch, r%s.ch
			row := d[p*w : p*w+w]
			for j := range row {
				if col := c0 + q*w + j; col < c0+nc {
					row[j] = s.data[(s.offs[tap]+col)*s.ch+c]
				} else {
					row[j] = 0
				}
			}
		}
	}
}
