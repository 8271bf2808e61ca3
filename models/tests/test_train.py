import json

import torch

from scales_sr.train import main as train_main


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


def test_resume_refuses_another_configuration(tmp_path, bench, small_train, capsys):
    run = tmp_path / "run"
    assert train_main(_args(small_train, bench, run, 2)) == 0
    args = _args(small_train, bench, run, 2, "--resume")
    args[args.index("--channels") + 1] = "12"
    assert train_main(args) == 2
    assert "differs" in capsys.readouterr().err
    assert train_main(_args(small_train, bench, tmp_path / "none", 2, "--resume")) == 2
