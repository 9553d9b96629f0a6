"""Worker processes: each on its own device (round robin over the GPUs, else the CPU)."""
from hnas.parallel import run_tasks, worker_device


def _device_of_this_worker(task):
    import os
    import time

    import paddle
    time.sleep(0.5)  # both workers take a task
    return os.environ.get("HNAS_WORKER_DEVICE"), str(paddle.get_device()), os.getpid()


def test_workers_take_the_gpus_in_turn_or_the_cpu():
    assert [worker_device(i, 3) for i in range(5)] == ["gpu:0", "gpu:1", "gpu:2", "gpu:0", "gpu:1"]
    assert worker_device(0, 0) == worker_device(7, 0) == "cpu"


def test_every_spawned_worker_is_put_on_its_device():
    results = run_tasks(_device_of_this_worker, [0, 1], workers=2)
    assert len({pid for _, _, pid in results}) == 2
    assert all(chosen == "cpu" and device == "cpu" for chosen, device, _ in results)  # a CPU build here
