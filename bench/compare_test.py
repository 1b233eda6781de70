"""Unit tests of compare.py's Table 3 and scaling modes: the parsing of
`go test -bench` output, the row selection, the table and the scaling
figures. Needs no PyTorch; the report package's tests run it
(`/usr/bin/python3 -m unittest compare_test` in bench/)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

GO_OUT = """goos: linux
goarch: amd64
pkg: github.com/netdeconv/deconv/bench/internal/paper
BenchmarkTable3/row=01/im2col-2         	     100	   3245000 ns/op	       0 B/op	       0 allocs/op
BenchmarkTable3/row=01/cov-2            	      10	  13228000 ns/op	       0 B/op	       0 allocs/op
BenchmarkTable3/row=01/inv-2            	    1000	    308000 ns/op	       0 B/op	       0 allocs/op
BenchmarkTable3/row=01/conv-2           	       1	 142364000 ns/op	      16 B/op	       1 allocs/op
BenchmarkTable3/row=12/conv             	       7	 1.5e+06 ns/op
BenchmarkScaling/workers=1/batch=8-2    	       3	 400000000 ns/op	        61.0 convGFLOP/s
BenchmarkScaling/workers=2/batch=8-2    	       3	 210000000 ns/op	       116 convGFLOP/s
BenchmarkScaling/workers=0/batch=8-2    	       3	 200000000 ns/op	       116 convGFLOP/s
BenchmarkScaling/workers=0/batch=16-2   	       3	 400000000 ns/op	       116 convGFLOP/s
BenchmarkScaling/workers=0/batch=32-2   	       3	 800000000 ns/op	       116 convGFLOP/s
PASS
"""


class Table3Test(unittest.TestCase):
    def test_rows_from_go_table(self):
        rows = compare.table3_rows()
        self.assertEqual(len(rows), 22)
        self.assertEqual(rows[0], dict(H=256, W=256, Cin=3, Cout=64, Groups=1, K=3, Stride=3))
        self.assertEqual(rows[8], dict(H=16, W=16, Cin=512, Cout=512, Groups=512, K=3, Stride=3))
        self.assertEqual(rows[21], dict(H=256, W=256, Cin=3, Cout=64, Groups=1, K=11, Stride=11))
        self.assertEqual(compare.layer_name(rows[1]), "128×128 64→128 g1 k3 S3")

    def test_parse_bench(self):
        res = compare.parse_table3_bench(GO_OUT)
        self.assertEqual(len(res), 5)
        self.assertAlmostEqual(res[(1, "im2col")], 3.245e-3)
        self.assertAlmostEqual(res[(1, "conv")], 0.142364)
        self.assertAlmostEqual(res[(12, "conv")], 1.5e-3)  # no -N suffix, exponent

    def test_parse_rows(self):
        self.assertEqual(compare.parse_rows("all", 22), list(range(1, 23)))
        self.assertEqual(compare.parse_rows("5,1-3,2", 22), [1, 2, 3, 5])
        for bad in ("0", "23", "3-1", "x"):
            with self.assertRaises(ValueError):
                compare.parse_rows(bad, 22)

    def test_table_marks_rows_behind(self):
        rows = compare.table3_rows()[:2]
        go = {(n, c): 1.0 for n in (1, 2) for c in compare.TABLE3_COMPONENTS}
        th = dict(go)
        th[(2, "cov")] = 0.5   # PyTorch twice as fast: behind
        th[(1, "conv")] = 3.0
        lines, behind = compare.format_table3(rows, [1, 2], go, th)
        self.assertEqual(behind, [(2, "cov")])
        self.assertEqual(len(lines), 4)
        self.assertTrue(lines[2].startswith("01 ") and lines[2].endswith("| -"), lines[2])
        self.assertIn("3.00x", lines[2])
        self.assertTrue(lines[3].endswith("| cov"), lines[3])
        self.assertIn("0.50x", lines[3])


class ScalingTest(unittest.TestCase):
    def test_parse_and_report(self):
        res = compare.parse_scaling_bench(GO_OUT)
        self.assertEqual(sorted(res), [(0, 8), (0, 16), (0, 32), (1, 8), (2, 8)])
        text = "\n".join(compare.scaling_report(res))
        self.assertIn("speed-up 1.90x, parallel efficiency 95.2%", text)
        self.assertIn("batch  8, all workers: 200.0 ms, 25.00 ms per image, 1.000 of batch 32", text)


if __name__ == "__main__":
    unittest.main()
