"""python -m deconv fold IN.pt OUT.pt: a whole model saved with torch.save,
its reference FastDeconv / Delinear / ChannelDeconv modules folded into plain
torch.nn.Conv2d / torch.nn.Linear layers (see deconv.torch_fold)."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m deconv", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fold", help="fold a saved model's deconvolution layers for deployment")
    f.add_argument("input", help="a whole model saved with torch.save (the classes it uses importable)")
    f.add_argument("output", help="where to torch.save the converted model")
    args = parser.parse_args(argv)

    import torch

    from . import torch_fold

    model = torch.load(args.input, map_location="cpu")
    out = torch_fold(model)
    out.eval()
    torch.save(out, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
