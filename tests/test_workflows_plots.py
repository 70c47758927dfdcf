"""The figures (muop.workflows.plots): a sweep's plot stays readable when a run blew up."""

from matplotlib.figure import Figure

from muop.workflows import plot_sweep, sweep_summary
from regret_example import HAND


def test_the_plot_cuts_blown_up_runs_off_the_top(tmp_path, monkeypatch):
    """A run that blew up (error 5e7, finite, not flagged diverged) must not squash the other curves."""
    runs = [dict(r) for r in HAND]
    runs[0]["test_rel_l2"] = 5e7
    figs, savefig = [], Figure.savefig

    def keep(fig, *args, **kw):  # keep each saved figure to read its axes
        figs.append(fig)
        return savefig(fig, *args, **kw)

    monkeypatch.setattr(Figure, "savefig", keep)
    plot_sweep(sweep_summary(runs, "width"), tmp_path / "cut.png")
    plot_sweep(sweep_summary(HAND, "width"), tmp_path / "plain.png")
    cut, plain = (f.axes[0] for f in figs)
    assert cut.get_ylim()[1] == 10.0 and any("off the top" in t.get_text() for t in cut.texts)
    assert plain.get_ylim()[1] < 10.0 and not plain.texts
