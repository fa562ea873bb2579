"""The knobs of the co-change index, with the measured reason for each default.

Defaults were chosen by replaying the protocol of ``coupling_eval.py`` on three
development repositories and checked on four others; none of them names or
assumes a repository layout.  What is specific to a repository (the weights
of the combination, the warning threshold) is learned from that repository's
own earlier history by the index itself.  Figures below are macro
recall@1 over the three development repositories unless said otherwise; see
``bench/partners_dev.py`` for the command.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """How the index weighs history, picks candidates, learns and warns."""

    #: Half-life of a past commit's weight.  Shorter (1 year, 6 months) lost
    #: recall@1 on every dev repository; two years is the best single value.
    half_life_days: float = 730.0
    #: A second, short half-life feature for "what is being worked on now".
    short_half_life_days: float = 30.0
    #: Half-life of the "change in progress" feature (a pull request's earlier commits).
    session_half_life_days: float = 2.0
    #: A long half-life feature, for repositories whose couplings are old and stable.
    long_half_life_days: float = 2920.0
    #: Half-life counted in commits, for repositories whose pace changes.
    activity_half_life_commits: float = 1000.0
    #: Half-life of a file's own change rate (its prior).
    rate_half_life_days: float = 365.0
    #: Commits with more files than this carry no co-change evidence (their
    #: weight, 1/size, is negligible anyway) and are skipped for speed; 60
    #: measured the same as 30.
    max_files: int = 30
    #: Weight of a never-seen query file's name template (``changelog/#.rst``)
    #: relative to a known file.  Neutral once the combination is learned;
    #: before that it lifts the overlap ranking where every change adds a
    #: changelog fragment (+0.013 recall@5 on such a repository).
    template_weight: float = 0.5
    #: Co-change candidates kept per query (by weighted overlap), before the
    #: structural ones are added (100 measured the same, for more time).
    candidates: int = 60
    #: Candidates added by rare shared path words.
    name_candidates: int = 10
    #: A query file's import links (either direction) become candidates when
    #: there are at most this many of them (a module everything imports adds none).
    reference_candidates: int = 8
    #: A word shared by at most this many alive paths counts as rare.
    rare_word_max: int = 10
    #: Queries replayed per commit (each hides a different file).  Two gave
    #: +0.008 recall@1 over one (more examples to learn from) for twice the
    #: replay time; three about +0.003 more, within noise, for half as much again.
    replays_per_commit: int = 2
    #: Replayed queries needed before the learned combination is used (before
    #: that, suggestions are ranked by the weighted overlap alone).
    min_train_queries: int = 60
    #: Refit the combination when the replayed queries grew by this share.
    refit_growth: float = 0.15
    #: L2 penalty of the combination (on standardised features); 0.1 and 10
    #: measured within 0.005 of 1.
    l2: float = 1.0
    #: Top-suggestion precision the warning threshold aims for, on this
    #: repository's replayed past.
    warn_precision: float = 0.70
    #: How sure the threshold must be of its precision: the z of a Wilson
    #: lower bound that must reach ``warn_precision`` (0 = the point estimate).
    warn_confidence: float = 0.0
    #: Replayed queries above a threshold needed before it is trusted.
    warn_min_support: int = 25
    #: Only replayed queries this recent calibrate the warning threshold (one
    #: or two years made the threshold noisier: precision fell below target).
    calibration_days: float = 3 * 365.0
    #: Only replayed queries this recent train the combination (three or ten
    #: years measured within noise of five).
    train_days: float = 5 * 365.0
    #: Features (by name prefix, see ``FEATURES``) held at zero, to measure
    #: what each kind of evidence is worth or to switch one off.
    disabled: tuple[str, ...] = ()
