"""How the backends use the machine: BLAS threads of the numpy backend, weights shared by the
two onnxruntime sessions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import pytest

from custom_components.needle.engine.backends import (
    SHARED_TENSORS,
    graph_name,
    load_backend,
    single_threaded_blas,
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


def test_blas_is_single_threaded_during_numpy_calls_only(random_bundles) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController()
    blas = controller.select(user_api="blas")
    if not blas.lib_controllers:
        pytest.skip("numpy has no BLAS threadpoolctl can see")

    def threads() -> int:
        return min(lib.num_threads for lib in controller.select(user_api="blas").lib_controllers)

    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert threads() == 2
        with single_threaded_blas(), single_threaded_blas():  # nested: counted
            assert threads() == 1
        assert threads() == 2
        backend = load_backend(read_bundle(random_bundles["fp32"]), "numpy")
        seen: list[int] = []
        original = backend.model.decode

        def decode(*args, **kwargs):
            seen.append(threads())
            return original(*args, **kwargs)

        backend.model.decode = decode  # type: ignore[method-assign]
        with ThreadPoolExecutor(3) as pool:  # overlapping requests: restored after the last
            list(
                pool.map(lambda n: backend.teacher_forced(np.arange(6, 6 + n), [1, 4]), (3, 9, 27))
            )
        assert seen == [1, 1, 1]
        assert threads() == 2
