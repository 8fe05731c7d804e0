"""Load megatron-core 0.19.2's data code (from an unpacked wheel) with torch stubbed out.

Only NumPy is needed. See /work/shared/reference/megatron-data.md §4.5 and §6:
megatron/core/__init__.py imports torch-heavy modules, so the package object is created by hand
and never runs its __init__; the few helpers the dataset modules import are replaced by stand-ins.
"""
import importlib
import logging
import os
import sys
import types

import numpy


def load(wheel_dir):
    """wheel_dir: directory that contains the unpacked `megatron/` package of the wheel."""
    torch = types.ModuleType("torch")
    torch_utils = types.ModuleType("torch.utils")
    torch_utils_data = types.ModuleType("torch.utils.data")

    class Dataset:  # base class of IndexedDataset / MegatronDataset / BlendedDataset
        pass

    torch_utils_data.Dataset = Dataset
    torch_utils.data = torch_utils_data
    torch.utils = torch_utils
    torch_distributed = types.ModuleType("torch.distributed")
    torch_distributed.is_initialized = lambda: False
    torch.distributed = torch_distributed
    torch.Tensor = object
    sys.modules.update({"torch": torch, "torch.utils": torch_utils,
                        "torch.utils.data": torch_utils_data, "torch.distributed": torch_distributed})

    megatron = types.ModuleType("megatron")
    megatron.__path__ = [os.path.join(wheel_dir, "megatron")]
    core = types.ModuleType("megatron.core")
    core.__path__ = [os.path.join(wheel_dir, "megatron", "core")]
    megatron.core = core

    utils = types.ModuleType("megatron.core.utils")

    def log_single_rank(logger, *args, rank=0, **kwargs):
        logger.log(*args, **kwargs)

    utils.log_single_rank = log_single_rank
    tokenizers = types.ModuleType("megatron.core.tokenizers")

    class MegatronTokenizerBase:
        pass

    tokenizers.MegatronTokenizerBase = MegatronTokenizerBase
    safe_globals = types.ModuleType("megatron.core.safe_globals")
    safe_globals.safe_numpy_load = lambda path, **kw: numpy.load(path, **kw)
    sys.modules.update({"megatron": megatron, "megatron.core": core, "megatron.core.utils": utils,
                        "megatron.core.tokenizers": tokenizers,
                        "megatron.core.safe_globals": safe_globals})
    logging.getLogger("megatron").setLevel(logging.ERROR)

    names = ["indexed_dataset", "gpt_dataset", "blended_dataset",
             "blended_megatron_dataset_builder", "blended_megatron_dataset_config", "utils"]
    mods = {n: importlib.import_module("megatron.core.datasets." + n) for n in names}
    mods["MegatronTokenizerBase"] = MegatronTokenizerBase
    return types.SimpleNamespace(**mods)


class FakeTokenizer:
    """What GPTDatasetConfig/MegatronDataset read from a tokenizer: sizes and special ids."""

    def __init__(self, vocab_size=50257, eod=50256):
        self.vocab_size = vocab_size
        self.eod = eod
        self.eos = eod
        self.pad = -1
        self.unique_identifiers = {"class": "FakeTokenizer", "vocab_size": vocab_size}


class FakeTensor:
    """IndexedDatasetBuilder.add_item calls tensor.numpy()."""

    def __init__(self, values):
        self.values = values

    def numpy(self):
        return numpy.asarray(self.values, dtype=numpy.int64)
