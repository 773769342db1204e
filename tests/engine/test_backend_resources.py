"""How the backends use the machine: BLAS threads of the numpy backend, weights shared by the
two onnxruntime sessions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import pytest

from custom_components.needle.engine import backends
from custom_components.needle.engine.backends import (
    SHARED_TENSORS,
    OtherLoad,
    graph_name,
    load_backend,
)
from custom_components.needle.engine.bundle import read_bundle


@pytest.mark.parametrize("precision", ["fp32", "int8", "int4"])
def test_shared_tensors_are_in_every_graph(random_bundles: dict[str, Path], precision: str) -> None:
    """The names handed to the sessions must be the exporter's, or sharing silently stops."""
    bundle = read_bundle(random_bundles[precision])
    shared = {graph_name(k) for k in SHARED_TENSORS if k in bundle.tensors}
    assert "embedding.embedding" in shared
    assert bundle.logits_onnx is not None
    for path in (bundle.encoder_onnx, bundle.decoder_onnx, bundle.logits_onnx):
        model = onnx.load(str(path), load_external_data=False)
        assert shared <= {t.name for t in model.graph.initializer}, path


class FixedLoad(OtherLoad):
    """Other processes' load as a test sets it (None: unknown)."""

    def __init__(self, cores: float | None) -> None:
        super().__init__()
        self.value = cores

    def cores(self) -> float | None:
        return self.value


@pytest.fixture
def blas_controller():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController()
    if not controller.select(user_api="blas").lib_controllers:
        pytest.skip("numpy has no BLAS threadpoolctl can see")
    return threadpoolctl, controller


def _blas_threads_now(controller) -> int:
    return min(lib.num_threads for lib in controller.select(user_api="blas").lib_controllers)


def test_blas_threads_follow_the_load_during_numpy_calls_only(
    random_bundles, blas_controller, monkeypatch
) -> None:
    threadpoolctl, controller = blas_controller
    monkeypatch.setattr(backends, "default_threads", lambda: 4)
    load = FixedLoad(None)
    monkeypatch.setattr(backends.blas_threads, "load", load)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert _blas_threads_now(controller) == 2
        for others, want in ((None, 1), (3.0, 1), (2.6, 1), (2.4, 2), (0.0, 2)):
            load.value = others  # 4 cores: free = 4 - others, at most BLAS's own 2
            with backends.blas_threads():
                assert _blas_threads_now(controller) == (1 if want == 1 else 2), others
            assert _blas_threads_now(controller) == 2
        backend = load_backend(read_bundle(random_bundles["fp32"]), "numpy")
        seen: list[int] = []
        original = backend.model.decode

        def decode(*args, **kwargs):
            seen.append(_blas_threads_now(controller))
            return original(*args, **kwargs)

        backend.model.decode = decode  # type: ignore[method-assign]
        load.value = 3.5  # busy: every pass on one thread
        with ThreadPoolExecutor(3) as pool:  # overlapping requests: restored after the last
            list(
                pool.map(lambda n: backend.teacher_forced(np.arange(6, 6 + n), [1, 4]), (3, 9, 27))
            )
        assert seen == [1, 1, 1]
        assert _blas_threads_now(controller) == 2
        load.value = 0.0  # idle: a pass alone gets BLAS's two threads
        seen.clear()
        backend.teacher_forced(np.arange(6, 16), [1, 4])
        assert seen == [2]
        assert _blas_threads_now(controller) == 2


def test_a_second_pass_at_once_drops_blas_to_one_thread(blas_controller, monkeypatch) -> None:
    threadpoolctl, controller = blas_controller
    monkeypatch.setattr(backends, "default_threads", lambda: 2)
    monkeypatch.setattr(backends.blas_threads, "load", FixedLoad(0.0))
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        with backends.blas_threads():
            assert _blas_threads_now(controller) == 2
            with backends.blas_threads():
                assert _blas_threads_now(controller) == 1
        assert _blas_threads_now(controller) == 2


def test_other_load_is_system_time_minus_our_own(monkeypatch) -> None:
    """Busy seconds of the system over the window, less this process's CPU seconds."""
    clock = iter([10.0, 10.1, 11.0, 12.0])
    system = iter([100.0, 101.5])  # 1.5 busy core-seconds over 1 s
    own = iter([5.0, 5.5])  # of which 0.5 were ours
    load = OtherLoad(clock=lambda: next(clock), own_cpu_s=lambda: next(own))
    monkeypatch.setattr(load, "_system_busy_s", lambda: next(system))
    assert load.cores() is None  # the first look opens the window
    assert load.cores() is None  # 0.1 s later: still inside it, nothing known yet
    assert load.cores() == pytest.approx(1.0)

    # a machine without /proc/stat: unknown, which the threads policy counts as busy
    def no_proc_stat() -> float:
        raise FileNotFoundError("/proc/stat")

    monkeypatch.setattr(load, "_system_busy_s", no_proc_stat)
    load._start = None
    load._value = None
    assert load.cores() is None


def test_proc_stat_reading_is_sane() -> None:
    if not Path("/proc/stat").exists():
        pytest.skip("not Linux")
    load = OtherLoad()
    first = load._system_busy_s()
    assert first > 0
    assert load._system_busy_s() >= first


def test_onnxruntime_decodes_on_one_thread_and_encodes_on_every_core(
    random_bundles, monkeypatch
) -> None:
    """A step's products are one row each: a second thread costs more than it brings there,
    while the encoder's large products want every core (README, *Speed*)."""
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(backends, "default_threads", lambda: 4)
    backend = load_backend(read_bundle(random_bundles["int8"]), "onnxruntime")
    assert backend._encoder.get_session_options().intra_op_num_threads == 4
    assert backend._decoder.get_session_options().intra_op_num_threads == backends.DECODER_THREADS
    assert backend._head.get_session_options().intra_op_num_threads == backends.DECODER_THREADS
    assert backends.DECODER_THREADS == 1
    told = backends.OnnxRuntimeBackend(read_bundle(random_bundles["int8"]), decoder_threads=2)
    assert told._decoder.get_session_options().intra_op_num_threads == 2
