package main

// The calls into package im2col. Nothing else in this package imports it.

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/im2col"
)

// im2colPlan is the Go value behind a deconv_im2col_plan.
type im2colPlan = im2col.Plan

// im2colParams mirrors deconv_im2col_params after its struct_size check.
type im2colParams struct {
	Batch, Channels, Height, Width int
	Geometry                       deconv.Geometry
	Sampling                       int
	FlatSampling                   bool
	Layout                         int
	Workers                        int
}

func newIm2colPlan(p im2colParams) (*im2col.Plan, error) {
	if err := enumArg("layout", p.Layout, int(im2col.Unfold)); err != nil {
		return nil, err
	}
	if p.Workers < 0 {
		return nil, fmt.Errorf("%w: workers %d", deconv.ErrParam, p.Workers)
	}
	return im2col.NewPlan(im2col.Params{
		Batch: p.Batch, Channels: p.Channels, Height: p.Height, Width: p.Width,
		Geometry: p.Geometry, Sampling: p.Sampling, FlatSampling: p.FlatSampling,
		Layout: im2col.Layout(p.Layout), Workers: p.Workers,
	})
}

// im2colSizes are the sizes the getters return, in their order:
// src_len, dst_len, rows, cols, out_h, out_w.
func im2colSizes(pl *im2col.Plan) [6]int {
	return [6]int{pl.SrcLen(), pl.DstLen(), pl.NumRows(), pl.Cols(), pl.OutH(), pl.OutW()}
}

func im2colRun[T deconv.Float](pl *im2col.Plan, dst, src []T) error {
	if err := exactLen("dst", len(dst), pl.DstLen()); err != nil {
		return err
	}
	if err := exactLen("src", len(src), pl.SrcLen()); err != nil {
		return err
	}
	if err := noOverlap([]string{"dst", "src"}, dst, src); err != nil {
		return err
	}
	return im2col.Im2col(pl, dst, src)
}

func col2imRun[T deconv.Float](pl *im2col.Plan, dst, cols []T) error {
	if err := exactLen("dst", len(dst), pl.SrcLen()); err != nil {
		return err
	}
	if err := exactLen("cols", len(cols), pl.DstLen()); err != nil {
		return err
	}
	if err := noOverlap([]string{"dst", "cols"}, dst, cols); err != nil {
		return err
	}
	return im2col.Col2im(pl, dst, cols)
}
