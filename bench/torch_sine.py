#!/usr/bin/env python3
"""metalearn's PyTorch peer: the benchmark's sine-wave workloads, in plain PyTorch.

`npm run bench` runs this beside metalearn on the same workloads and machine, so the
speed (and, with --eval-tasks, the adapted loss) can be compared with what a user would
otherwise write: PyTorch eager mode, one thread, every task of a meta-batch batched the
fast way (per-task weights [tasks, in, out], batched matmuls, no Python loop over tasks).

    apt-get install -y python3-torch        # once; Debian's torch, run with /usr/bin/python3
    /usr/bin/python3 bench/torch_sine.py --workload maml-paper --iterations 500
    /usr/bin/python3 bench/torch_sine.py --workload maml-paper --set k=5 --set query=5
    /usr/bin/python3 bench/torch_sine.py --workload reptile-flux --iterations 50000 --eval-tasks 500
    /usr/bin/python3 bench/torch_sine.py --workload fomaml-flux --iterations 1020 --plain
    /usr/bin/python3 bench/torch_sine.py --workload maml-paper --iterations 70000 --save /tmp/maml-paper

Options: --iterations N (500), --set KEY=JSON (override one setting; repeatable; unknown
keys are an error), --threads N (1), --seed N (0), --eval-tasks N (0: no evaluation),
--save DIR, --plain.

Every task is y = A sin(x + phase); the network is a 1-h-h-1 MLP whose weights and biases
start uniform in +-sqrt(1 / fan_in). Settings: algo, hidden, act, tasks (per meta-step),
k (support points per task), query (query points per task), steps (inner SGD steps),
inner_lr, meta_opt, meta_lr, amp, phase (a range) or phase_set (a discrete set), x, loss.

| workload       | what it is                              | settings |
| -------------- | --------------------------------------- | -------- |
| maml-paper     | MAML paper 5.1 / cbfinn/maml            | second order, 1-40-40-1 ReLU, 25 tasks, K=10 support + 10 query, 1 step of 0.01, MSE, Adam 1e-3 on the mean over tasks; A in [0.1, 5], phase in [0, pi], x in [-5, 5] |
| fomaml-paper   | the same, first order                   | as maml-paper |
| fomaml-flux    | Flux blog post, FOMAML                  | 1-64-64-1 tanh, 3 tasks, K=10 support, query = the 50-point grid over x, 1 step of 0.02, SGD 0.01 on the sum of the task gradients; A in [0.1, 5], phase in [0, 2pi], x in [-5, 5] |
| reptile-flux   | Flux blog post / OpenAI Reptile         | 1-64-64-1 tanh, 1 task, support = the 50-point grid in shuffled minibatches of 10 (5 SGD steps of 0.02; steps = passes over the grid), theta += 0.1 (phi - theta); ranges as fomaml-flux |
| maml-blog      | PyTorch blog post, MAML                 | second order, 1-32-32-1 ReLU, 1 task, A = 1, phase in {0, pi}, x in [-2pi, 2pi], K=4 support + 4 query, 5 steps of 0.03, L1 loss, SGD 1e-2 |
| transfer-paper | MAML paper's pretrained baseline        | joint training, 1-40-40-1 ReLU, 25 tasks x 10 points per step, Adam 1e-3; ranges as maml-paper |
| transfer-flux  | joint-training baseline of the Flux post | 1-64-64-1 tanh, 1 task x 50 random points per step, SGD 0.01; ranges as fomaml-flux |

Output: one JSON line on stdout.
  default: {"workload", "settings" (resolved), "iterations", "threads", "torch",
            "ms_per_iter", "windows_ms"}: after a warm-up of min(20, N/5) iterations the
            rest are timed in 5 equal windows; ms_per_iter is the median window.
  --eval-tasks N adds "mse_by_update": the mean MSE on a 100-point grid over the x range
            after 0..10 plain SGD steps (lr = inner_lr, the workload's loss) on k support
            points drawn uniformly from the x range, over N tasks of a fixed seed.
  --plain:  {"workload", "iterations", "plain": true, "seconds"} (and "mse_by_update" if
            asked): exactly N iterations as a user script would run them (no warm-up, windows
            or syncs), for benchmarks that time whole processes of N+20 and 20 iterations and
            subtract; "seconds" is the time from building the network to the last iteration.
--save DIR writes the trained weights as a TensorFlow.js layers model (model.json +
weights.bin), the format of metalearn's checkpoints.
"""
import argparse
import json
import math
import time

import torch

PI = math.pi
PAPER_TASKS = dict(amp=[0.1, 5.0], phase=[0.0, PI], x=[-5.0, 5.0], loss="mse")
FLUX_TASKS = dict(amp=[0.1, 5.0], phase=[0.0, 2 * PI], x=[-5.0, 5.0], loss="mse")

WORKLOADS = {
    "maml-paper": dict(algo="maml", hidden=[40, 40], act="relu", tasks=25, k=10, query=10, steps=1,
                       inner_lr=0.01, meta_opt="adam", meta_lr=1e-3, **PAPER_TASKS),
    "fomaml-paper": dict(algo="fomaml", hidden=[40, 40], act="relu", tasks=25, k=10, query=10, steps=1,
                         inner_lr=0.01, meta_opt="adam", meta_lr=1e-3, **PAPER_TASKS),
    "fomaml-flux": dict(algo="fomaml", hidden=[64, 64], act="tanh", tasks=3, k=10, query=50, steps=1,
                        inner_lr=0.02, meta_opt="sgd", meta_lr=0.01, **FLUX_TASKS),
    "reptile-flux": dict(algo="reptile", hidden=[64, 64], act="tanh", tasks=1, k=50, batch=10, steps=1,
                         query=0, inner_lr=0.02, meta_opt="reptile", meta_lr=0.1, **FLUX_TASKS),
    "maml-blog": dict(algo="maml", hidden=[32, 32], act="relu", tasks=1, k=4, query=4, steps=5,
                      inner_lr=0.03, meta_opt="sgd", meta_lr=1e-2, amp=[1.0, 1.0], phase_set=[0.0, PI],
                      x=[-2 * PI, 2 * PI], loss="l1"),
    "transfer-paper": dict(algo="transfer", hidden=[40, 40], act="relu", tasks=25, k=10, query=0, steps=0,
                           inner_lr=0.01, meta_opt="adam", meta_lr=1e-3, **PAPER_TASKS),
    "transfer-flux": dict(algo="transfer", hidden=[64, 64], act="tanh", tasks=1, k=50, query=0, steps=0,
                          inner_lr=0.02, meta_opt="sgd", meta_lr=0.01, **FLUX_TASKS),
}
# Properties of a workload that are not numbers to override: the Flux post's FOMAML
# queries every task on its evenly spaced grid and sums (not averages) the task gradients.
QUERY_ON_GRID = {"fomaml-flux"}
SUM_OVER_TASKS = {"fomaml-flux"}

EVAL_SEED = 12345
EVAL_GRID_POINTS = 100
EVAL_UPDATES = 10


# --- the network ---------------------------------------------------------------------------

def init_mlp(hidden, gen):
    """[kernel [in, out], bias [1, out]] per layer, uniform in +-sqrt(1 / fan_in)."""
    sizes = [1, *hidden, 1]
    params = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = math.sqrt(1.0 / fan_in)
        for shape in ((fan_in, fan_out), (1, fan_out)):
            params.append(torch.empty(shape).uniform_(-bound, bound, generator=gen).requires_grad_())
    return params


def mlp(params, x, act):
    """x [tasks, points, 1] -> [tasks, points, 1]; params shared (2-D) or per task (3-D)."""
    hidden_act = torch.relu if act == "relu" else torch.tanh
    h = x
    for i, (kernel, bias) in enumerate(zip(params[0::2], params[1::2])):
        if i > 0:
            h = hidden_act(h)
        if kernel.dim() == 3:  # per-task weights: bias + h @ kernel, one batched kernel call
            h = torch.baddbmm(bias, h, kernel)
        else:
            h = torch.matmul(h, kernel) + bias
    return h


def per_task(params, tasks, detach=False):
    """The shared params as per-task views [tasks, ...] (gradients flow back unless detached)."""
    return [(p.detach() if detach else p).expand(tasks, *p.shape) for p in params]


def task_losses(pred, y, kind):
    """Loss of each task over its points: [tasks]."""
    err = pred - y
    return (err.abs() if kind == "l1" else err * err).mean(dim=(1, 2))


# --- tasks ---------------------------------------------------------------------------------

def uniform(lo_hi, shape, gen):
    lo, hi = lo_hi
    return torch.rand(shape, generator=gen) * (hi - lo) + lo


def sample_tasks(s, n, gen):
    """Amplitudes and phases [n, 1, 1]."""
    amp = uniform(s["amp"], (n, 1, 1), gen)
    if "phase_set" in s:
        choice = torch.randint(len(s["phase_set"]), (n, 1, 1), generator=gen)
        phase = torch.tensor(s["phase_set"], dtype=torch.float32)[choice]
    else:
        phase = uniform(s["phase"], (n, 1, 1), gen)
    return amp, phase


def sample_inputs(s, n, points, gen):
    return uniform(s["x"], (n, points, 1), gen)


def grid(s, points):
    return torch.linspace(s["x"][0], s["x"][1], points)


def sine(amp, phase, x):
    return amp * torch.sin(x + phase)


# --- one meta-iteration of each algorithm ---------------------------------------------------

def sgd_steps(fast, x, y, s, create_graph):
    """s["steps"] inner SGD steps of every task on its own points, batched over tasks."""
    for _ in range(s["steps"]):
        loss = task_losses(mlp(fast, x, s["act"]), y, s["loss"]).sum()  # a task's weights see only its loss
        grads = torch.autograd.grad(loss, fast, create_graph=create_graph)
        fast = [w - s["inner_lr"] * g for w, g in zip(fast, grads)]
    return fast


def meta_optimizer(s, params):
    if s["meta_opt"] == "adam":
        return torch.optim.Adam(params, lr=s["meta_lr"])
    if s["meta_opt"] == "sgd":
        return torch.optim.SGD(params, lr=s["meta_lr"])
    return None  # reptile moves the params itself


def make_meta_step(s, params, gen, query_on_grid, sum_over_tasks):
    """A function running one meta-iteration in place on params."""
    tasks, k = s["tasks"], s["k"]
    opt = meta_optimizer(s, params)
    over_tasks = torch.sum if sum_over_tasks else torch.mean
    query_grid = grid(s, s["query"]).view(1, -1, 1).expand(tasks, -1, 1) if query_on_grid else None
    support_grid = grid(s, k)  # reptile's points

    def support_and_query():
        amp, phase = sample_tasks(s, tasks, gen)
        xs = sample_inputs(s, tasks, k, gen)
        xq = query_grid if query_on_grid else sample_inputs(s, tasks, s["query"], gen)
        return xs, sine(amp, phase, xs), xq, sine(amp, phase, xq)

    def maml():  # second order: differentiate through the inner steps
        xs, ys, xq, yq = support_and_query()
        fast = sgd_steps(per_task(params, tasks), xs, ys, s, create_graph=True)
        meta_loss = over_tasks(task_losses(mlp(fast, xq, s["act"]), yq, s["loss"]))
        opt.zero_grad(set_to_none=True)
        meta_loss.backward()
        opt.step()

    def fomaml():  # first order: the query gradient at the adapted weights, taken as the meta-gradient
        xs, ys, xq, yq = support_and_query()
        start = [w.requires_grad_() for w in per_task(params, tasks, detach=True)]
        adapted = [w.detach().requires_grad_() for w in sgd_steps(start, xs, ys, s, create_graph=False)]
        query_loss = task_losses(mlp(adapted, xq, s["act"]), yq, s["loss"]).sum()
        for p, g in zip(params, torch.autograd.grad(query_loss, adapted)):
            p.grad = over_tasks(g, dim=0)
        opt.step()

    def reptile():  # phi = SGD on shuffled minibatches of the grid; theta += meta_lr (phi - theta)
        amp, phase = sample_tasks(s, tasks, gen)
        fast = [w.clone().requires_grad_() for w in per_task(params, tasks, detach=True)]
        for _ in range(s["steps"]):  # passes over the grid
            x = support_grid[torch.rand(tasks, k, generator=gen).argsort(dim=1)].unsqueeze(-1)
            y = sine(amp, phase, x)
            for first in range(0, k, s["batch"]):
                xb, yb = x[:, first:first + s["batch"]], y[:, first:first + s["batch"]]
                loss = task_losses(mlp(fast, xb, s["act"]), yb, s["loss"]).sum()
                with torch.no_grad():
                    for w, g in zip(fast, torch.autograd.grad(loss, fast)):
                        w.sub_(s["inner_lr"] * g)
        with torch.no_grad():
            for p, phi in zip(params, fast):
                p.add_(s["meta_lr"] * (phi.mean(dim=0) - p))

    def transfer():  # joint training of the shared weights on fresh tasks
        amp, phase = sample_tasks(s, tasks, gen)
        x = sample_inputs(s, tasks, k, gen)
        loss = over_tasks(task_losses(mlp(params, x, s["act"]), sine(amp, phase, x), s["loss"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return dict(maml=maml, fomaml=fomaml, reptile=reptile, transfer=transfer)[s["algo"]]


# --- evaluation, timing, saving ------------------------------------------------------------

def mse_by_update(s, params, n_tasks):
    """Mean grid MSE over n_tasks held-out tasks after 0..EVAL_UPDATES SGD steps on k support points."""
    gen = torch.Generator().manual_seed(EVAL_SEED)
    amp, phase = sample_tasks(s, n_tasks, gen)
    xs = sample_inputs(s, n_tasks, s["k"], gen)
    ys = sine(amp, phase, xs)
    xg = grid(s, EVAL_GRID_POINTS).view(1, -1, 1).expand(n_tasks, -1, 1)
    yg = sine(amp, phase, xg)
    fast = [w.clone().requires_grad_() for w in per_task(params, n_tasks, detach=True)]
    curve = []
    for update in range(EVAL_UPDATES + 1):
        with torch.no_grad():
            curve.append(round(task_losses(mlp(fast, xg, s["act"]), yg, "mse").mean().item(), 4))
        if update == EVAL_UPDATES:
            break
        loss = task_losses(mlp(fast, xs, s["act"]), ys, s["loss"]).sum()
        with torch.no_grad():
            for w, g in zip(fast, torch.autograd.grad(loss, fast)):
                w.sub_(s["inner_lr"] * g)
    return curve


def timed_windows(meta_step, iterations, windows=5):
    """ms per iteration of each of `windows` equal windows, after a warm-up of min(20, N/5) (plus the remainder)."""
    per_window = (iterations - min(20, iterations // 5)) // windows
    for _ in range(iterations - windows * per_window):
        meta_step()
    result = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(per_window):
            meta_step()
        result.append(round((time.perf_counter() - start) * 1000 / per_window, 4))
    return result


def save_layers_model(folder, params, act):
    """TensorFlow.js layers format (model.json + weights.bin), as metalearn's checkpoints."""
    import os
    os.makedirs(folder, exist_ok=True)
    kernels, biases = params[0::2], params[1::2]
    layers, manifest, blob = [], [], bytearray()
    for i, (kernel, bias) in enumerate(zip(kernels, biases), start=1):
        config = dict(name=f"dense_{i}", units=kernel.shape[1],
                      activation=act if i < len(kernels) else "linear", use_bias=True)
        if i == 1:
            config.update(batch_input_shape=[None, 1], dtype="float32")
        layers.append(dict(class_name="Dense", config=config))
        for part, tensor in (("kernel", kernel), ("bias", bias.reshape(-1))):
            manifest.append(dict(name=f"dense_{i}/{part}", shape=list(tensor.shape), dtype="float32"))
            blob += tensor.detach().contiguous().numpy().astype("<f4").tobytes()
    model = dict(format="layers-model", generatedBy="metalearn bench/torch_sine.py", convertedBy=None,
                 modelTopology=dict(class_name="Sequential", config=dict(name="torch_sine_mlp", layers=layers)),
                 weightsManifest=[dict(paths=["./weights.bin"], weights=manifest)])
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(model, f)
    with open(os.path.join(folder, "weights.bin"), "wb") as f:
        f.write(bytes(blob))


def parse_args():
    ap = argparse.ArgumentParser(description="metalearn's PyTorch peer: sine-wave meta-learning workloads")
    ap.add_argument("--workload", required=True, choices=list(WORKLOADS))
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a setting, value as JSON: --set tasks=5 --set 'hidden=[64,64]'")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-tasks", type=int, default=0)
    ap.add_argument("--save", metavar="DIR", help="write the trained weights as a TF.js layers model")
    ap.add_argument("--plain", action="store_true", help="train exactly N iterations untimed and print the seconds")
    args = ap.parse_args()
    settings = dict(WORKLOADS[args.workload])
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq:
            ap.error(f"--set {item}: expected KEY=VALUE")
        if key not in settings:
            ap.error(f"--set {item}: {args.workload} has no setting {key!r} (it has {', '.join(settings)})")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            ap.error(f"--set {item}: {value!r} is not JSON")
    if args.iterations < 0 or (args.iterations < 6 and not args.plain):
        ap.error("--iterations: at least 6 (5 timing windows after the warm-up), or 0 with --plain")
    return args, settings


def main():
    args, s = parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    params = init_mlp(s["hidden"], gen)
    meta_step = make_meta_step(s, params, gen, args.workload in QUERY_ON_GRID, args.workload in SUM_OVER_TASKS)
    if args.plain:
        for _ in range(args.iterations):
            meta_step()
        out = dict(workload=args.workload, iterations=args.iterations, plain=True,
                   seconds=round(time.perf_counter() - start, 4))
    else:
        windows = timed_windows(meta_step, args.iterations)
        out = dict(workload=args.workload, settings=s, iterations=args.iterations, threads=args.threads,
                   torch=torch.__version__, ms_per_iter=sorted(windows)[len(windows) // 2], windows_ms=windows)
    if args.eval_tasks > 0:
        out["mse_by_update"] = mse_by_update(s, params, args.eval_tasks)
    if args.save:
        save_layers_model(args.save, params, s["act"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
