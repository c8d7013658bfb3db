"""Acting on results: following the matches on Bluesky and Mastodon, lists and starter packs.

`budget.py` and `plan.py` are pure (how much may be written, what is left to do); `state.py`
keeps a run's progress on disk (never credentials) so an interrupted run resumes; `bluesky.py`
and `mastodon.py` do the writes; `run.py` drives a run and reports progress.
"""
