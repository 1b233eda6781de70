package gemm

import (
	"fmt"

	"github.com/netdeconv/deconv/internal/size"
)

// Im2colGeom is the geometry of the im2col matrix of an NCHW image x:
// one row per output position (and per channel block), one column per
// (channel, ki, kj) with the channel slowest:
//
//	X[n·L + oh·OW + ow][(c·KH + ki)·KW + kj] =
//	    x[n][c][oh·step + ki·Dilation − Pad][ow·step + kj·Dilation − Pad]
//
// (zero outside the image), where step = Stride·Sampling, L = OH·OW and
// OH = (H + 2·Pad − Dilation·(KH−1) − 1)/step + 1 (likewise OW).
//
// With channel blocking (0 < Block < C, Block dividing C) each row of
// C·KH·KW features is cut into G = C/Block rows of F = Block·KH·KW
// features, stacked as extra samples (row r·G + g holds block g of row r):
//
//   - Interleaved (the reference implementation's grouping): block g holds
//     the features f of the flattening with f mod G = g, at position f div G.
//   - otherwise (contiguous): block g holds channels g·Block … (g+1)·Block−1.
type Im2colGeom struct {
	N, C, H, W  int // image batch, channels, height, width
	KH, KW      int // kernel size
	Stride      int // convolution stride (≥ 1)
	Pad         int // zero padding on every side (≥ 0)
	Dilation    int // kernel dilation (≥ 1)
	Sampling    int // sampling stride S (≥ 1): keeps every S-th output position per axis
	Block       int // channels per block; 0 or C means no blocking
	Interleaved bool
}

// Im2col is the im2col matrix of an NCHW image as a Packer: its panels
// are read straight from the image, so products with it (the convolution,
// the covariance XᵀX) never materialise the matrix. Build it with
// NewIm2col; it is safe for concurrent use.
type Im2col[T Float] struct {
	x               []T
	g               Im2colGeom
	oh, ow, l, step int
	groups, feats   int
	rows            int
	chw             int
	// Per feature of the unblocked flattening (c, ki, kj): the channel's
	// offset in one image and the kernel tap's offset from the window's
	// top-left corner.
	coff, dy, dx []int
}

// NewIm2col validates the geometry against x (which must hold N·C·H·W
// values) and precomputes the per-feature offsets.
func NewIm2col[T Float](x []T, g Im2colGeom) (*Im2col[T], error) {
	if g.N < 0 || g.C < 1 || g.H < 1 || g.W < 1 || g.KH < 1 || g.KW < 1 || g.Stride < 1 || g.Pad < 0 || g.Dilation < 1 || g.Sampling < 1 {
		return nil, fmt.Errorf("gemm: invalid im2col geometry %+v", g)
	}
	need, ok := size.Mul(g.N, g.C, g.H, g.W)
	_, ok2 := size.Mul(g.C, g.KH, g.KW, max(g.Stride*g.Sampling, 1))
	if !ok || !ok2 {
		return nil, fmt.Errorf("gemm: im2col geometry %+v overflows int", g)
	}
	if len(x) < need {
		return nil, fmt.Errorf("gemm: im2col image has %d values, %d×%d×%d×%d needs %d", len(x), g.N, g.C, g.H, g.W, need)
	}
	b := g.Block
	if b == 0 {
		b = g.C
	}
	if b < 1 || b > g.C || g.C%b != 0 {
		return nil, fmt.Errorf("gemm: im2col block %d does not divide %d channels", g.Block, g.C)
	}
	m := &Im2col[T]{x: x, g: g, step: g.Stride * g.Sampling, chw: g.C * g.H * g.W}
	eh := g.H + 2*g.Pad - g.Dilation*(g.KH-1) - 1
	ew := g.W + 2*g.Pad - g.Dilation*(g.KW-1) - 1
	if eh < 0 || ew < 0 {
		return nil, fmt.Errorf("gemm: im2col kernel %d×%d (dilation %d) exceeds padded image %d×%d", g.KH, g.KW, g.Dilation, g.H+2*g.Pad, g.W+2*g.Pad)
	}
	m.oh, m.ow = eh/m.step+1, ew/m.step+1
	m.l = m.oh * m.ow
	m.groups = g.C / b
	m.feats = b * g.KH * g.KW
	m.rows = g.N * m.l * m.groups
	nf := g.C * g.KH * g.KW
	m.coff, m.dy, m.dx = make([]int, nf), make([]int, nf), make([]int, nf)
	for c := 0; c < g.C; c++ {
		for ki := 0; ki < g.KH; ki++ {
			for kj := 0; kj < g.KW; kj++ {
				f := (c*g.KH+ki)*g.KW + kj
				m.coff[f] = c * g.H * g.W
				m.dy[f] = ki*g.Dilation - g.Pad
				m.dx[f] = kj*g.Dilation - g.Pad
			}
		}
	}
	return m, nil
}

// Dims returns N·OH·OW·G rows and Block·KH·KW columns.
func (m *Im2col[T]) Dims() (rows, cols int) { return m.rows, m.feats }

// OutSize returns the output positions per axis, OH and OW.
func (m *Im2col[T]) OutSize() (oh, ow int) { return m.oh, m.ow }

// feature maps column j of block g to the unblocked feature index.
func (m *Im2col[T]) feature(g, j int) int {
	if m.g.Interleaved {
		return j*m.groups + g
	}
	return g*m.feats + j
}

// row decodes row r into its image offset, window origin and block.
func (m *Im2col[T]) row(r int) (img []T, oy, ox, g int) {
	s, g := r/m.groups, r%m.groups
	n, l := s/m.l, s%m.l
	return m.x[n*m.chw : (n+1)*m.chw], (l / m.ow) * m.step, (l % m.ow) * m.step, g
}

// at returns element f (unblocked feature) of the window at (oy, ox).
func (m *Im2col[T]) at(img []T, oy, ox, f int) T {
	iy, ix := oy+m.dy[f], ox+m.dx[f]
	if uint(iy) < uint(m.g.H) && uint(ix) < uint(m.g.W) {
		return img[m.coff[f]+iy*m.g.W+ix]
	}
	return 0
}

// PackRows implements Packer: panels of w samples.
func (m *Im2col[T]) PackRows(dst []T, r0, nr, c0, nc, w int) {
	nq := (nr + w - 1) / w
	for q := 0; q < nq; q++ {
		d := dst[q*nc*w : (q+1)*nc*w]
		rows := min(w, nr-q*w)
		for i := 0; i < rows; i++ {
			img, oy, ox, g := m.row(r0 + q*w + i)
			for p := 0; p < nc; p++ {
				d[p*w+i] = m.at(img, oy, ox, m.feature(g, c0+p))
			}
		}
		for p := 0; p < nc && rows < w; p++ {
			clear(d[p*w+rows : p*w+w])
		}
	}
}

// PackCols implements Packer: panels of w features.
func (m *Im2col[T]) PackCols(dst []T, r0, nr, c0, nc, w int) {
	nq := (nc + w - 1) / w
	for p := 0; p < nr; p++ {
		img, oy, ox, g := m.row(r0 + p)
		for q := 0; q < nq; q++ {
			d := dst[q*nr*w+p*w : q*nr*w+p*w+w]
			cols := min(w, nc-q*w)
			for j := 0; j < cols; j++ {
				d[j] = m.at(img, oy, ox, m.feature(g, c0+q*w+j))
			}
			clear(d[cols:])
		}
	}
}
