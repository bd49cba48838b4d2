import pytest

from helpers.core.profile import PROFILES, get_profile


def test_default_is_book(monkeypatch):
    monkeypatch.delenv("HF_PROFILE", raising=False)
    assert get_profile().name == "book"


def test_env_var_selects_profile(monkeypatch):
    monkeypatch.setenv("HF_PROFILE", " Smoke ")
    assert get_profile().name == "smoke"


def test_unknown_profile_lists_valid_ones(monkeypatch):
    monkeypatch.setenv("HF_PROFILE", "huge")
    with pytest.raises(ValueError) as err:
        get_profile()
    for name in PROFILES:
        assert repr(name) in str(err.value)


def test_pick_returns_value_of_profile():
    assert get_profile("smoke").pick(smoke=1, book=2, full=3) == 1
    assert get_profile("full").pick(smoke=1, book=2, full=3) == 3


def test_profiles_grow_from_smoke_to_full():
    smoke, book, full = PROFILES["smoke"], PROFILES["book"], PROFILES["full"]
    assert smoke.train_size < book.train_size and full.train_size is None
    assert "profile=book" in book.describe()


def test_setup_seed_overrides_the_profile_seed(capsys):
    from helpers.notebook import setup

    P = setup("smoke", seed=3)
    assert P.seed == 3 and P.name == "smoke"
    assert "profile=smoke" in capsys.readouterr().out and "seed=3" in P.describe()
    assert setup("smoke", quiet=True).seed == 0
