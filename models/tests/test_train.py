import json

import torch

from scales_train.train import main as train_main


def _args(small_train, bench, out, iters, *extra):
    return ["--scale", "2", "--blocks", "1", "--channels", "8", "--patch", "12", "--batch", "2",
            "--iters", str(iters), "--warmup", "2", "--val-every", "3", "--log-every", "1", "--threads", "1",
            "--train-data", str(small_train), "--val-data", str(bench), "--out", str(out), *extra]


def _log(run):
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_stop_and_resume_equals_one_run(tmp_path, bench, small_train):
    full = tmp_path / "full"
    assert train_main(_args(small_train, bench, full, 6)) == 0
    part = tmp_path / "part"
    assert train_main(_args(small_train, bench, part, 6, "--stop-at", "3")) == 0
    assert torch.load(part / "checkpoint.pt")["iteration"] == 3
    assert train_main(_args(small_train, bench, part, 6, "--resume")) == 0
    a, b = torch.load(full / "checkpoint.pt"), torch.load(part / "checkpoint.pt")
    assert b["iteration"] == 6
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert a["history"] == [h for h in b["history"]]
    assert any("set5_psnr" in r for r in _log(part))


def test_time_budget_ends_cleanly_with_a_checkpoint(tmp_path, bench, small_train):
    run = tmp_path / "run"
    assert train_main(_args(small_train, bench, run, 10 ** 6, "--time-budget", "3")) == 0
    ck = torch.load(run / "checkpoint.pt")
    assert 0 < ck["iteration"] < 10 ** 6
    done = _log(run)[-1]
    assert done["stop"] == "time budget" and done["it"] == ck["iteration"]


def test_fit_budget_sets_a_schedule_that_ends_inside_the_budget(tmp_path, bench, small_train, capsys):
    """--fit-budget measures the warm-up's rate and fixes --iters from it: the run ends on its
    schedule ("iterations", not the time budget), within the budget, and the checkpoint keeps the
    fitted length so that a resume continues the same schedule."""
    import time
    run = tmp_path / "run"
    t0 = time.time()
    args = _args(small_train, bench, run, 10 ** 6, "--fit-budget", "6")
    args[args.index("--warmup") + 1] = "200"
    args[args.index("--val-every") + 1] = "100000"
    args[args.index("--log-every") + 1] = "100000"
    assert train_main(args) == 0
    assert time.time() - t0 < 6 * 1.5
    ck = torch.load(run / "checkpoint.pt")
    assert 200 < ck["iteration"] == ck["args"]["iters"] < 10 ** 6
    assert _log(run)[-1]["stop"] == "iterations"
    assert f"schedule set to {ck['iteration']} iterations" in capsys.readouterr().out
    args[args.index("--warmup") + 1] = "10"
    assert train_main(args) == 2  # the rate needs a warm-up to measure
    assert "--warmup 200" in capsys.readouterr().err


def test_uint8_batches_give_the_float_batches_bit_for_bit(small_train):
    """The GPU path sends batch_uint8() and divides there; it must be the very draw batch() makes."""
    import numpy as np
    from scales_train.data import PatchSampler
    a, b = PatchSampler(small_train, 2, 12, seed=3), PatchSampler(small_train, 2, 12, seed=3)
    lf, hf = a.batch(5)
    lu, hu = b.batch_uint8(5)
    assert lu.dtype == hu.dtype == np.uint8 and lu.shape == (5, 3, 12, 12) and hu.shape == (5, 3, 24, 24)
    assert np.array_equal(lf, (torch.from_numpy(lu).float() / 255.0).numpy())
    assert np.array_equal(hf, (torch.from_numpy(hu).float() / 255.0).numpy())
    assert a.state() == b.state()


def test_resume_refuses_another_configuration(tmp_path, bench, small_train, capsys):
    run = tmp_path / "run"
    assert train_main(_args(small_train, bench, run, 2)) == 0
    args = _args(small_train, bench, run, 2, "--resume")
    args[args.index("--channels") + 1] = "12"
    assert train_main(args) == 2
    assert "differs" in capsys.readouterr().err
    assert train_main(_args(small_train, bench, tmp_path / "none", 2, "--resume")) == 2



def test_branch_lr_scales_only_the_scales_parameters(tmp_path, bench, small_train):
    """--branch-lr sets the learning rate of shift, alpha and the re-scaling branches and nothing
    else; SwinIR's MLP layers (named fc1/fc2 like the channel branch inside them) stay in the rest."""
    from scales_train.arch import build
    from scales_train.edsr import ModelConfig
    from scales_train.swinir import SwinConfig
    from scales_train.train import param_groups, scales_parameters

    swin = build(SwinConfig(channels=8, groups=1, depth=1, heads=2, window=4))
    ids = {id(p) for p in scales_parameters(swin)}
    names = {n for n, p in swin.named_parameters() if id(p) in ids}
    assert {"groups.0.layers.0.fc1.shift", "groups.0.layers.0.fc1.alpha", "groups.0.layers.0.fc1.spatial.weight",
            "groups.0.layers.0.fc1.fc1.weight", "groups.0.layers.0.fc2.fc2.bias", "groups.0.conv.spatial.weight",
            "groups.0.conv.fc1.weight"} <= names
    assert not names & {"groups.0.layers.0.fc1.weight", "groups.0.layers.0.fc2.weight", "groups.0.conv.weight",
                        "groups.0.layers.0.norm1.weight", "conv_first.weight"}
    groups = param_groups(swin, 0.25)
    assert [g["lr_mult"] for g in groups] == [1.0, 0.25]
    assert sum(len(g["params"]) for g in groups) == len(list(swin.parameters()))

    # Trained with --branch-lr 0 the SCALES parameters keep their start values, the rest moves.
    run = tmp_path / "run"
    assert train_main(_args(small_train, bench, run, 3, "--branch-lr", "0")) == 0
    trained = torch.load(run / "checkpoint.pt")["model"]
    torch.manual_seed(0)  # the training's seed: the same start
    start = build(ModelConfig.from_variant("scales", 2, 1, 8))
    frozen = {id(p) for p in scales_parameters(start)}
    moved = [n for n, p in start.named_parameters() if not torch.equal(p.detach(), trained[n])]
    assert moved and all(id(dict(start.named_parameters())[n]) not in frozen for n in moved)
    assert any(n.endswith(".weight") and "body" in n for n in moved)


def test_cumulative_continues_a_stopped_run_with_its_own_arguments(tmp_path, bench, small_train):
    """scales_train.cumulative resumes a committed run from the arguments its checkpoint recorded and
    ends where one uninterrupted run ends."""
    from scales_train.cumulative import main as cumulative_main
    from scales_train.train import build_parser, resume_argv

    full, part = tmp_path / "full", tmp_path / "part"
    assert train_main(_args(small_train, bench, full, 6, "--lr", "0.001")) == 0
    assert train_main(_args(small_train, bench, part, 6, "--lr", "0.001", "--stop-at", "3")) == 0
    args = torch.load(part / "checkpoint.pt")["args"]
    argv = resume_argv(args, threads=1, time_budget=600, stop_at=0)
    assert argv[-1] == "--resume" and "--stop-at" not in argv and "--lr" in argv
    assert vars(build_parser().parse_args(argv))["lr"] == 0.001
    assert cumulative_main([str(part), "--hours", "0.5", "--jobs", "1", "--cores", "1",
                            "--logs", str(tmp_path / "logs")]) == 0
    a, b = torch.load(full / "checkpoint.pt"), torch.load(part / "checkpoint.pt")
    assert b["iteration"] == 6 and len(b["segments"]) == 2
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert "from iteration 3" in (tmp_path / "logs" / "part.log").read_text()


def test_a_run_folder_trains_in_one_process_at_a_time(tmp_path, bench, small_train, capsys):
    import fcntl
    run = tmp_path / "run"
    run.mkdir()
    with open(run / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert train_main(_args(small_train, bench, run, 2)) == 2
        assert "another process" in capsys.readouterr().err
    assert train_main(_args(small_train, bench, run, 2)) == 0


def test_cumulative_takes_the_least_advanced_runs_that_fit_one_commit(tmp_path):
    from scales_train.cumulative import unfinished

    def run(name, iteration, iters, mb):
        d = tmp_path / name
        d.mkdir()
        torch.save({"iteration": iteration, "args": {"iters": iters}, "pad": bytes(int(mb * 1e6))}, d / "checkpoint.pt")

    run("a", 5000, 10000, 3)
    run("b", 1000, 10000, 5)
    run("c", 3000, 10000, 4)
    run("done", 10000, 10000, 1)
    run("d", 2000, 10000, 6)
    (tmp_path / "no-checkpoint").mkdir()
    assert [p.name for p in unfinished(tmp_path)] == ["b", "d", "c", "a"]
    # 12 MB: b (5) + d (6) = 11; c (4) and a (3) would pass 12.
    assert [p.name for p in unfinished(tmp_path, 12)] == ["b", "d"]
    assert [p.name for p in unfinished(tmp_path, 9.5)] == ["b", "c"]  # d does not fit, c does
    assert [p.name for p in unfinished(tmp_path, 1)] == ["b"]  # the first run is always taken


def test_sigterm_ends_a_run_with_a_checkpoint_it_resumes_from(tmp_path, bench, small_train):
    import signal
    import subprocess
    import sys
    import time
    from conftest import ROOT

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "scales_train.train", *_args(small_train, bench, out, 100000)[:-2], "--out", str(out)]
    cmd[cmd.index("--val-every") + 1] = "100000"
    proc = subprocess.Popen(cmd, cwd=ROOT / "models", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    log = out / "log.jsonl"
    while time.time() < deadline and not (log.is_file() and '"it": 3,' in log.read_text()):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    assert "(signal SIGTERM)" in text
    ck = torch.load(out / "checkpoint.pt")
    assert 3 <= ck["iteration"] < 100000 and ck["segments"][-1]["to"] == ck["iteration"]
