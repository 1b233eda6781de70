import os
import sys

import torch  # noqa: F401  (the tests need PyTorch: missing, they fail rather than skip)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

torch.set_default_dtype(torch.float64)

# Largest relative errors seen, per family, printed at the end of the run.
MAX_ERR = {}


def record(family, err):
    MAX_ERR[family] = max(MAX_ERR.get(family, 0.0), float(err))


def pytest_terminal_summary(terminalreporter):
    if MAX_ERR:
        terminalreporter.write_line("largest relative error per family:")
        for k in sorted(MAX_ERR):
            terminalreporter.write_line("  %-28s %.3g" % (k, MAX_ERR[k]))
