#!/usr/bin/python3
"""PyTorch autograd reference for `make bench`.

The losses of include/pal/loss.h written the way a PyTorch user would
write them, with the graph G as a dense tensor (or a sparse one for CSR
graphs), differentiated by autograd:

  VIC^2       L = ||Z Z^T - G||_F^2
  SimCLR      zt_i = z_i / ||z_i||, s = Zt Zt^T / tau, the self term left
              out of the denominator:
              L = - sum_i sum_{j != i} G_ij (s_ij - LSE_i),
              LSE_i = log sum_{k != i} exp(s_ik)
  BarlowTwins zt_k = z_k / ||z_k|| (columns), C = Zt^T G Zt,
              L = sum_k (C_kk - 1)^2 + lambda sum_{k != l} C_kl^2

With a sparse G, Z Z^T cannot be formed at the sizes benchmarked, so VIC^2
uses the same identity libpal documents:
||Z^T Z||_F^2 - 2 <Z, G Z> + ||G||_F^2.

The script is a worker driven by bench/bench.c through its standard input
and output, one command per line, so that the C program can alternate
its own timings with these ones in a single run:

  load NAME KIND DTYPE N K FILE...  read an input (see load())
  run LOSS GRAPH Z [tau=..] [lambda=..] [grad=PATH]
                                    one forward and backward pass, timed;
                                    replies "ok SECONDS LOSS", and writes
                                    dL/dZ to PATH (after the clock stops)
  drop NAME | clear                 forget one input, or all of them
  quit

Every reply is one line: "ok ..." or "error MESSAGE". The thread count is
set once at start (--threads); the C program also sets OMP_NUM_THREADS and
BLIS_NUM_THREADS for this process, since PyTorch's matrix products go
through the system BLAS.
"""

import argparse
import gc
import sys
import time

try:
    import numpy as np
    import torch
except ImportError as e:  # the C side reports this line and goes on
    print("error %s" % e, flush=True)
    sys.exit(0)

DTYPES = {"f32": (np.float32, torch.float32), "f64": (np.float64, torch.float64)}


def vic2_dense(z, g):
    return ((z @ z.T - g) ** 2).sum()


def vic2_sparse(z, g, frob2):
    m = z.T @ z
    return (m * m).sum() - 2.0 * (z * torch.sparse.mm(g, z)).sum() + frob2


def simclr_dense(z, g, tau):
    zt = z / z.norm(dim=1, keepdim=True)
    s = (zt @ zt.T) / tau
    eye = torch.eye(s.shape[0], dtype=torch.bool)
    lse = torch.logsumexp(s.masked_fill(eye, float("-inf")), dim=1)
    gp = g.masked_fill(eye, 0.0)
    return -(gp * (s - lse[:, None])).sum()


def bt_loss(c, lam):
    diag = torch.diagonal(c)
    off = (c * c).sum() - (diag * diag).sum()
    return ((diag - 1.0) ** 2).sum() + lam * off


def bt_dense(z, g, lam):
    zt = z / z.norm(dim=0, keepdim=True)
    return bt_loss(zt.T @ (g @ zt), lam)


def bt_sparse(z, g, lam):
    zt = z / z.norm(dim=0, keepdim=True)
    return bt_loss(zt.T @ torch.sparse.mm(g, zt), lam)


def wake(seconds=0.002):
    """Keep the intra-op threads busy for a moment before a timed pass, so
    that the pass does not pay for waking idle cores (bench.c does the
    same before each of its own timed calls)."""
    x = torch.empty(1 << 18)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        x.fill_(1.0)


class Worker:
    def __init__(self):
        self.inputs = {}

    def load(self, args):
        """NAME KIND DTYPE N K FILE...

        KIND z:      FILE = raw N x K matrix of DTYPE
             dense:  FILE = raw N x N matrix of DTYPE
             labels: FILE = N int32 labels; G_ij = [y_i = y_j >= 0]
             csr:    FILES = rowptr (N + 1 int64), colidx (int32),
                     values (DTYPE)
        """
        name, kind, dt, n, k = args[:5]
        files = args[5:]
        n, k = int(n), int(k)
        npt, tt = DTYPES[dt]
        if kind == "z":
            a = np.fromfile(files[0], dtype=npt, count=n * k).reshape(n, k)
            val = torch.from_numpy(a)
        elif kind == "dense":
            a = np.fromfile(files[0], dtype=npt, count=n * n).reshape(n, n)
            val = torch.from_numpy(a)
        elif kind == "labels":
            y = torch.from_numpy(np.fromfile(files[0], dtype=np.int32,
                                             count=n))
            val = ((y[:, None] == y[None, :]) & (y[:, None] >= 0)).to(tt)
        elif kind == "csr":
            ptr = np.fromfile(files[0], dtype=np.int64, count=n + 1)
            nnz = int(ptr[-1])
            idx = np.fromfile(files[1], dtype=np.int32, count=nnz)
            vals = np.fromfile(files[2], dtype=npt, count=nnz)
            rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
            ij = torch.from_numpy(np.stack([rows, idx.astype(np.int64)]))
            g = torch.sparse_coo_tensor(ij, torch.from_numpy(vals), (n, n))
            val = (g.coalesce(), float((vals.astype(np.float64) ** 2).sum()))
        else:
            raise ValueError("unknown input kind " + kind)
        self.inputs[name] = val
        return "ok"

    def run(self, args):
        loss, gname, zname = args[:3]
        opts = dict(a.split("=", 1) for a in args[3:])
        tau = float(opts.get("tau", "0.1"))
        lam = float(opts.get("lambda", "1"))
        g = self.inputs[gname]
        z = self.inputs[zname].clone()
        sparse = isinstance(g, tuple)

        wake()
        t0 = time.perf_counter()
        z.requires_grad_(True)
        if loss == "vic2":
            val = vic2_sparse(z, g[0], g[1]) if sparse else vic2_dense(z, g)
        elif loss == "bt":
            val = bt_sparse(z, g[0], lam) if sparse else bt_dense(z, g, lam)
        elif loss == "simclr" and not sparse:
            val = simclr_dense(z, g, tau)
        else:
            raise ValueError("no reference for %s on this graph" % loss)
        val.backward()
        grad = z.grad
        seconds = time.perf_counter() - t0

        if "grad" in opts:
            grad.detach().numpy().tofile(opts["grad"])
        value = float(val.detach())
        del val, z, grad
        return "ok %.9f %.17g" % (seconds, value)

    def drop(self, args):
        for name in args:
            self.inputs.pop(name, None)
        gc.collect()
        return "ok"

    def clear(self, _args):
        self.inputs.clear()
        gc.collect()
        return "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    opt = ap.parse_args()
    torch.set_num_threads(opt.threads)
    torch.set_grad_enabled(True)

    w = Worker()
    cmds = {"load": w.load, "run": w.run, "drop": w.drop, "clear": w.clear}
    print("ok torch %s threads %d" % (torch.__version__,
                                      torch.get_num_threads()), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            reply = cmds[words[0]](words[1:])
        except Exception as e:  # the C side reports it and goes on
            reply = "error %s: %s" % (type(e).__name__,
                                      str(e).replace("\n", " "))
        print(reply, flush=True)


if __name__ == "__main__":
    main()
