"""The Well's HDF5 layout (muop.data.well, through muop.data.load): small files written as The Well's
documentation ("Data format") lays them out, read back to the expected shapes, channel order and
frame windows; a wrong layout is a one-line DataError naming what is missing."""

from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from muop.data import DataError, load
from muop.data.prepare import prepare_data
from muop.data.well import WellWindow, read_well, well_channels

B, T, H, W = 2, 5, 4, 6  # trajectories, frames, grid (x has W points, y H: arrays are (B, T, x, y))


def value(field: int, b, t, i, j, comp=0):
    """A distinct, known number for every (field, trajectory, frame, x, y, component)."""
    return 1000 * field + 100 * b + 10 * t + i + 0.1 * j + 0.01 * comp  # exact to 1e-3 in float32


def write_well(path, drop: str | None = None, scalar_const: bool = False):
    """A 2-D Well file: t0 ``density`` (and ``mask``, constant over trajectories and time when
    ``scalar_const``), t1 ``velocity``, t2 ``stress``; ``drop`` leaves one group out."""
    b, t, i, j = np.meshgrid(np.arange(B), np.arange(T), np.arange(W), np.arange(H), indexing="ij")
    with h5py.File(path, "w") as f:
        f.attrs.update(dataset_name="toy", grid_type="cartesian", n_spatial_dims=2, n_trajectories=B)
        f.attrs["simulation_parameters"] = ["Re"]
        f.attrs["Re"] = 100.0
        groups = {g: f.create_group(g) for g in ("dimensions", "boundary_conditions", *FIELDS) if g != drop}
        if "dimensions" in groups:
            d = groups["dimensions"]
            d.attrs["spatial_dims"] = ["x", "y"]
            d["time"] = np.linspace(0, 1, T, dtype=np.float32)
            d["x"], d["y"] = np.linspace(0, 1, W, dtype=np.float32), np.linspace(0, 1, H, dtype=np.float32)
        if "boundary_conditions" in groups:
            for axis, kind in (("x", "periodic"), ("y", "wall")):
                g = groups["boundary_conditions"].create_group(f"{axis}_boundary")
                g.attrs.update(associated_dims=[axis], associated_fields=[], bc_type=kind)
                g["mask"] = np.ones(W if axis == "x" else H, dtype=bool)
        if "t0_fields" in groups:
            g0 = groups["t0_fields"]
            g0.attrs["field_names"] = ["density", "mask"]
            g0["density"] = value(1, b, t, i, j).astype(np.float32)
            mask = g0.create_dataset(
                "mask", data=(i + j)[0, 0].astype(np.float32) if scalar_const else value(2, b, t, i, j)
            )
            mask.attrs.update(sample_varying=not scalar_const, time_varying=not scalar_const)
        if "t1_fields" in groups:
            groups["t1_fields"].attrs["field_names"] = ["velocity"]
            groups["t1_fields"]["velocity"] = np.stack([value(3, b, t, i, j, c) for c in range(2)], -1)
        if "t2_fields" in groups:
            groups["t2_fields"].attrs["field_names"] = ["stress"]
            groups["t2_fields"]["stress"] = np.stack([value(4, b, t, i, j, c) for c in range(4)], -1).reshape(
                B, T, W, H, 2, 2
            )
    return path


FIELDS = ("t0_fields", "t1_fields", "t2_fields")
CHANNELS = ["density", "mask", "velocity_x", "velocity_y", "stress_xx", "stress_xy", "stress_yx", "stress_yy"]
SOURCE = [(1, 0), (2, 0), (3, 0), (3, 1), (4, 0), (4, 1), (4, 2), (4, 3)]  # (field, component) per channel


def test_channels_in_documented_order(tmp_path):
    assert well_channels(write_well(tmp_path / "w.hdf5")) == (CHANNELS, [])
    assert well_channels(write_well(tmp_path / "c.hdf5", scalar_const=True)) == (
        [c for c in CHANNELS if c != "mask"],
        ["mask"],
    )


def test_one_step_windows_read_back_with_shapes_and_values(tmp_path):
    d = load(write_well(tmp_path / "w.hdf5"))
    assert d.meta["format"] == "the-well" and d.meta["channels"] == CHANNELS
    assert d.meta["boundary_conditions"] == {"x": "periodic", "y": "wall"}
    assert tuple(d.x.shape) == (B * (T - 1), 8, W, H) and tuple(d.y.shape) == d.x.shape
    for n, (b, t) in enumerate((b, t) for b in range(B) for t in range(T - 1)):  # trajectory-major
        for c, (field, comp) in enumerate(SOURCE):
            assert d.x[n, c, 3, 2].item() == pytest.approx(value(field, b, t, 3, 2, comp), abs=1e-3)
            assert d.y[n, c, 3, 2].item() == pytest.approx(value(field, b, t + 1, 3, 2, comp), abs=1e-3)


def test_window_of_several_frames_k_apart_is_frame_major(tmp_path):
    x, y, meta = read_well(write_well(tmp_path / "w.hdf5"), WellWindow(n_in=2, n_out=1, k=2))
    assert meta["window"] == [2, 1, 2]
    assert x.shape == (B * 1, 16, W, H) and y.shape == (B, 8, W, H)  # T = 5: only t = 0 starts (0, 2 -> 4)
    np.testing.assert_allclose(x[1, 8 + 2, 0, 0], value(3, 1, 2, 0, 0), atol=1e-3)  # frame t=2, channel velocity_x
    np.testing.assert_allclose(y[1, 5, 1, 1], value(4, 1, 4, 1, 1, 1), atol=1e-3)  # frame t=4, channel stress_xy


def test_constant_fields_are_repeated_inputs_after_the_frames_and_never_outputs(tmp_path):
    path = write_well(tmp_path / "w.hdf5", scalar_const=True)
    d = load(path, well=WellWindow(n_in=2))
    assert d.meta["constant_channels"] == ["mask"] and tuple(d.x.shape) == (B * (T - 2), 2 * 7 + 1, W, H)
    assert tuple(d.y.shape) == (B * (T - 2), 7, W, H)
    i, j = np.meshgrid(np.arange(W), np.arange(H), indexing="ij")
    for n in range(len(d)):
        np.testing.assert_array_equal(d.x[n, -1].numpy(), i + j)
    np.testing.assert_allclose(d.x[-1, 7 + 1].numpy(), value(3, B - 1, T - 2, i, j), atol=1e-3)  # 2nd frame, velocity_x


def test_a_field_constant_along_one_axis_is_repeated_along_it(tmp_path):
    path = write_well(tmp_path / "w.hdf5")
    with h5py.File(path, "a") as f:
        del f["t0_fields/density"]
        ds = f["t0_fields"].create_dataset("density", data=np.arange(B * T * W, dtype=np.float32).reshape(B, T, W))
        ds.attrs["dim_varying"] = [True, False]
    d = load(path)
    np.testing.assert_array_equal(d.x[0, 0].numpy(), np.repeat(np.arange(W, dtype=np.float32)[:, None], H, 1))


@pytest.mark.parametrize("group", ["dimensions", "boundary_conditions", "t1_fields"])
def test_wrong_layout_is_one_line_naming_the_missing_group(tmp_path, group):
    path = write_well(tmp_path / "w.hdf5", drop=group)
    with pytest.raises(DataError, match=f"group '{group}' is missing") as e:
        load(path)
    assert "\n" not in str(e.value)


def test_a_field_of_the_wrong_shape_is_named(tmp_path):
    path = write_well(tmp_path / "w.hdf5")
    with h5py.File(path, "a") as f:
        del f["t1_fields/velocity"]
        f["t1_fields/velocity"] = np.zeros((B, T, W, H), np.float32)  # a vector field without its component axis
    with pytest.raises(DataError, match="t1_fields/velocity.*has shape") as e:
        load(path)
    assert "\n" not in str(e.value)


def test_run_data_section_reads_a_well_train_file_and_test_file(tmp_path):
    train, test = write_well(tmp_path / "train.hdf5"), write_well(tmp_path / "test.hdf5")
    cfg = SimpleNamespace(
        problem=None, path=str(train), test_path=str(test), n_train=6, n_test=3, n_val=0, resolution=0, seed=0,
        params={}, input_key=None, output_key=None, grid_dims=None, stride=2, eval_strides=[], cache_dir=str(tmp_path),
    )  # fmt: skip
    sets = prepare_data(cfg)
    assert tuple(sets.train.x.shape) == (6, 8, 3, 2) and tuple(sets.test.y.shape) == (3, 8, 3, 2)


def test_trajectories_reads_only_the_first_ones_and_keeps_their_values(tmp_path):
    path = write_well(tmp_path / "w.hdf5", scalar_const=True)
    x, y, meta = read_well(path, trajectories=1)
    assert meta["trajectories"] == 1 and x.shape == (T - 1, 7 + 1, W, H) and y.shape == (T - 1, 7, W, H)
    np.testing.assert_allclose(x[T - 2, 0, 2, 3], value(1, 0, T - 2, 2, 3), atol=1e-3)  # trajectory 0, last start
    np.testing.assert_allclose(x[:, -1], np.broadcast_to(np.add.outer(np.arange(W), np.arange(H)), (T - 1, W, H)))
