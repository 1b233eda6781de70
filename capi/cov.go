package main

// The calls into package cov. Nothing else in this package imports it.

import (
	"fmt"

	"github.com/netdeconv/deconv"
	"github.com/netdeconv/deconv/cov"
)

// covPlan is the Go value behind a deconv_cov_plan: immutable.
type covPlan = cov.Plan

// covStats is the Go value behind a deconv_cov_stats.
type covStats struct {
	busy
	s *cov.Stats
}

// covParams mirrors deconv_cov_params after its struct_size check.
type covParams struct {
	Batch, Channels, Height, Width int
	Geometry                       deconv.Geometry
	Groups, Sampling, Block        int
	Grouping                       int
	Eps                            float64
	Workers                        int
}

type covLinearParams struct {
	Batch, Features, Block int
	Eps                    float64
	Workers                int
}

type covChannelParams struct {
	Batch, Channels, Height, Width int
	Block, Sampling                int
	Uncentred                      bool
	Eps                            float64
	Workers                        int
}

func newCovPlan(p covParams) (*covPlan, error) {
	if err := enumArg("grouping", p.Grouping, int(deconv.Contiguous)); err != nil {
		return nil, err
	}
	return cov.NewPlan(cov.Params{
		Batch: p.Batch, Channels: p.Channels, Height: p.Height, Width: p.Width, Geometry: p.Geometry,
		Groups: p.Groups, Sampling: p.Sampling, Block: p.Block, Grouping: deconv.Grouping(p.Grouping),
		Eps: p.Eps, Workers: p.Workers,
	})
}

func newCovLinearPlan(p covLinearParams) (*covPlan, error) {
	return cov.NewLinearPlan(cov.LinearParams{Batch: p.Batch, Features: p.Features, Block: p.Block, Eps: p.Eps, Workers: p.Workers})
}

func newCovChannelPlan(p covChannelParams) (*covPlan, error) {
	return cov.NewChannelPlan(cov.ChannelParams{
		Batch: p.Batch, Channels: p.Channels, Height: p.Height, Width: p.Width,
		Block: p.Block, Sampling: p.Sampling, Uncentred: p.Uncentred, Eps: p.Eps, Workers: p.Workers,
	})
}

// covSizes are the sizes the getters return, in their order: src_len,
// mean_len, cov_len, features, groups, block, rows.
func covSizes(pl *covPlan) [7]int {
	return [7]int{pl.SrcLen(), pl.MeanLen(), pl.CovLen(), pl.Features(), pl.Groups(), pl.Block(), pl.Rows()}
}

func covCompute[T deconv.Float](pl *covPlan, mean, c, x []T) error {
	if err := exactLen("mean", len(mean), pl.MeanLen()); err != nil {
		return err
	}
	if err := exactLen("cov", len(c), pl.CovLen()); err != nil {
		return err
	}
	if err := exactLen("x", len(x), pl.SrcLen()); err != nil {
		return err
	}
	if err := noOverlap([]string{"mean", "cov", "x"}, mean, c, x); err != nil {
		return err
	}
	return cov.Compute(pl, mean, c, x)
}

func newCovStats(pl *covPlan) *covStats { return &covStats{s: cov.NewStats(pl)} }

func covStatsReset(s *covStats) error {
	if err := s.acquire("stats"); err != nil {
		return err
	}
	defer s.release()
	s.s.Reset()
	return nil
}

func covStatsAccumulate[T deconv.Float](s *covStats, pl *covPlan, x []T) error {
	if err := s.acquire("stats"); err != nil {
		return err
	}
	defer s.release()
	if err := exactLen("x", len(x), pl.SrcLen()); err != nil {
		return err
	}
	return cov.Accumulate(pl, s.s, x)
}

func covStatsMerge(dst, src *covStats) error {
	if err := dst.acquire("dst"); err != nil {
		return err
	}
	defer dst.release()
	if src != dst {
		if err := src.acquire("src"); err != nil {
			return err
		}
		defer src.release()
	}
	return dst.s.Merge(src.s)
}

func covStatsCount(s *covStats) (float64, error) {
	if err := s.acquire("stats"); err != nil {
		return 0, err
	}
	defer s.release()
	return s.s.Count(), nil
}

// Lengths that depend only on the shape, fixed at creation.
func covStatsSumsLen(s *covStats) int { return s.s.SumsLen() }
func covStatsRefLen(s *covStats) int  { return s.s.RefLen() }

func covStatsExport(s *covStats, ref, sums []float64) error {
	if err := s.acquire("stats"); err != nil {
		return err
	}
	defer s.release()
	if err := exactLen("sums", len(sums), s.s.SumsLen()); err != nil {
		return err
	}
	if ref != nil {
		if err := exactLen("ref", len(ref), s.s.RefLen()); err != nil {
			return err
		}
	}
	if err := noOverlap([]string{"sums", "ref"}, sums, ref); err != nil {
		return err
	}
	return s.s.Sums(sums, ref)
}

func covStatsImport(s *covStats, ref, sums []float64) error {
	if err := s.acquire("stats"); err != nil {
		return err
	}
	defer s.release()
	if err := exactLen("sums", len(sums), s.s.SumsLen()); err != nil {
		return err
	}
	if ref != nil {
		if err := exactLen("ref", len(ref), s.s.RefLen()); err != nil {
			return err
		}
	}
	return s.s.SetSums(ref, sums)
}

func covStatsFinalize[T deconv.Float](s *covStats, mean, c []T) error {
	if err := s.acquire("stats"); err != nil {
		return err
	}
	defer s.release()
	if err := noOverlap([]string{"mean", "cov"}, mean, c); err != nil {
		return err
	}
	return cov.Finalize(s.s, mean, c)
}

func covStatsRest(s *covStats) (mean, variance float64, err error) {
	if err := s.acquire("stats"); err != nil {
		return 0, 0, err
	}
	defer s.release()
	mean, variance, ok := s.s.Rest()
	if !ok {
		return 0, 0, fmt.Errorf("%w: the plan has no channels beyond its blocks, or nothing was accumulated", deconv.ErrEmpty)
	}
	return mean, variance, nil
}
