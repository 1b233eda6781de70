package fold

import (
	"fmt"

	"github.com/netdeconv/deconv"
)

// The input gradient of a stride-1 convolution is itself a convolution:
// dx = conv(dy, W̃) with W̃ the weights with input and output channels
// swapped (per group) and both kernel axes flipped, and padding
// Dilation·(Kernel−1) − Pad on each axis. Computing it with the forward
// engine replaces the product Wᵀ·dy and its scatter-add onto the input
// (the adjoint of im2col, a scalar pass with read-modify-write of every
// pixel per tap) by the forward's blocks, which write every input pixel
// once, and gives dx the forward's fastest path (Winograd where the
// geometry has it). Strided convolutions, and paddings larger than the
// kernel's reach (which would need a negative padding), keep the
// scatter path.

// dxByForward reports whether the input gradient of g is computed as a
// forward convolution.
func (g ConvGeom) dxByForward() bool {
	return g.StrideH == 1 && g.StrideW == 1 &&
		g.PadH <= g.DilationH*(g.KernelH-1) && g.PadW <= g.DilationW*(g.KernelW-1)
}

// dxGeom is the geometry of the convolution that computes dx from dy.
func (g ConvGeom) dxGeom() ConvGeom {
	t := g
	t.InChannels, t.OutChannels = g.OutChannels, g.InChannels
	t.PadH = g.DilationH*(g.KernelH-1) - g.PadH
	t.PadW = g.DilationW*(g.KernelW-1) - g.PadW
	return t
}

// dxConv returns the layer's convolution for dx (built on first use and
// kept: it holds the forward engine's pooled workspaces for that shape).
// It has no published weights: each call passes its own.
func (c *Conv2d[T]) dxConv() (*Conv2d[T], error) {
	if t := c.dx.Load(); t != nil {
		return t, nil
	}
	g, err := c.geom.dxGeom().normalize()
	if err != nil {
		return nil, fmt.Errorf("%w: the input gradient's convolution: %v", deconv.ErrUnsupported, err)
	}
	t := &Conv2d[T]{geom: g}
	t.p.Store(&weights[T]{})
	if !c.dx.CompareAndSwap(nil, t) {
		return c.dx.Load(), nil
	}
	return t, nil
}

// flipWeights writes into dst the weights of the dx convolution of g:
// dst[grp·cg+ci][co][i][j] = w[grp·coutg+co][ci][KernelH−1−i][KernelW−1−j].
func flipWeights[T Float](dst, w []T, g ConvGeom) {
	cg, coutg := g.InChannels/g.Groups, g.OutChannels/g.Groups
	kh, kw := g.KernelH, g.KernelW
	kk := kh * kw
	for grp := 0; grp < g.Groups; grp++ {
		for co := 0; co < coutg; co++ {
			src := w[(grp*coutg+co)*cg*kk:][:cg*kk]
			for ci := 0; ci < cg; ci++ {
				d := dst[((grp*cg+ci)*coutg+co)*kk:][:kk]
				s := src[ci*kk : (ci+1)*kk]
				for t := range kk {
					d[kk-1-t] = s[t]
				}
			}
		}
	}
}

// dxForward computes dx = conv(dy, W̃) for a validated stride-1 backward
// (dy already checked finite), and reports an overflow of dx.
func (c *Conv2d[T]) dxForward(dx, dy []T, n, h, w, oh, ow int, weight []T, workers int) error {
	t, err := c.dxConv()
	if err != nil {
		return err
	}
	wt := getScratch[T](len(weight))
	defer putScratch(wt)
	flipWeights(*wt, weight, c.geom)
	if err := t.forward(dx, dy, n, oh, ow, h, w, *wt, nil, workers); err != nil {
		return fmt.Errorf("input gradient: %w", err)
	}
	return nil
}
