import os
import sys

import torch  # noqa: F401  (the tests need PyTorch: missing, they fail rather than skip)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

torch.set_default_dtype(torch.float64)

# Largest relative errors seen, and the number of comparisons made, per
# family, printed at the end of the run.
MAX_ERR = {}
CHECKS = {}


def record(family, err):
    MAX_ERR[family] = max(MAX_ERR.get(family, 0.0), float(err))
    CHECKS[family] = CHECKS.get(family, 0) + 1


def pytest_terminal_summary(terminalreporter):
    if MAX_ERR:
        terminalreporter.write_line("largest relative error per family (comparisons):")
        for k in sorted(MAX_ERR):
            terminalreporter.write_line("  %-36s %-9.3g (%d)" % (k, MAX_ERR[k], CHECKS[k]))
        terminalreporter.write_line("  %d comparisons in %d families" % (sum(CHECKS.values()), len(CHECKS)))
