"""`hnas doctor` (issue 25): the one-command machine check runs on a CPU (CI runs it here), prints
its table, and turns a failed check or a missing GPU into one line and a non-zero exit."""
import io

from conftest import run_hnas


def test_hnas_doctor_runs_on_a_cpu_and_prints_its_table():
    code, out, err = run_hnas("doctor", "--steps", "1", "--batch_size", "4", "--archs", "3", "--images", "8")
    assert code == 0, err
    assert "device cpu; mixed precision is a no-op here" in out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| resnet")]
    assert [(r[0].strip(), r[1].strip()) for r in rows] == [
        ("resnet20", "off"), ("resnet20", "fp16"), ("resnet48", "off"), ("resnet48", "fp16")]
    assert all(float(cell) > 0 for row in rows for cell in row[3:8])
    assert [row[8].strip() for row in rows] == ["", "1.000", "", "1.000"]  # on a CPU fp16 is float32


def test_hnas_doctor_without_a_gpu_or_with_bad_flags_is_one_line_and_exit_2():
    code, _, err = run_hnas("doctor", "--device", "gpu")
    assert code == 2 and err.strip().splitlines()[-1].startswith("hnas: error: --device gpu: no GPU found (paddle")
    code, _, err = run_hnas("doctor", "--archs", "1")
    assert code == 2 and err.strip().splitlines()[-1] == "hnas: error: --archs 1: expected at least 2"


def test_a_failing_check_is_a_row_and_a_count(monkeypatch, capsys):
    from hnas import doctor

    def broken(*args):
        raise RuntimeError("CUDA error: out of memory\nmore lines")
    monkeypatch.setattr(doctor, "train_check", broken)
    table = io.StringIO()
    assert doctor.run_doctor("cpu", steps=1, batch_size=2, archs=2, images=2, out=table) == 4
    assert table.getvalue().count("FAILED: CUDA error: out of memory |") == 4
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        "hnas: doctor: 4 check(s) failed: resnet20 off: CUDA error: out of memory;")
