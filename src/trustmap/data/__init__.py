"""Datasets by name, loaded offline, plus user files. See ``trustmap data list``."""

from trustmap.data.dataset import Dataset, Split, validate_split
from trustmap.data.registry import (
    DATASETS,
    dataset_info,
    dataset_names,
    load_dataset,
    register_dataset,
)
from trustmap.data.splits import stratified_indices, stratified_two_way
from trustmap.data.user import read_npz

__all__ = [
    "DATASETS",
    "Dataset",
    "Split",
    "validate_split",
    "dataset_info",
    "dataset_names",
    "load_dataset",
    "register_dataset",
    "stratified_indices",
    "stratified_two_way",
    "read_npz",
]
