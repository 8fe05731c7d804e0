"""Generate the megatron-core golden fixtures used by Tests/XMoEDataTests.

Run once (Python 3.12 with only NumPy; megatron-core 0.19.2 wheel unpacked, torch stubbed):

    pip download --no-deps --python-version 3.12 --only-binary=:all: megatron-core==0.19.2 -d wheel
    unzip wheel/megatron_core-0.19.2-*.whl -d wheel/mc
    python make_fixtures.py --wheel wheel/mc --out ../../Tests/XMoEDataTests/Fixtures/megatron

Writes:
  indexed/manifest.json + {u16,i32,multimodal}.{bin,idx}   (IndexedDatasetBuilder output)
  gpt/corpus{A,B}.{bin,idx}                                 (inputs of the index builds)
  gpt/cases.json + gpt/<case>-<split>-<array>.npy           (GPTDataset / BlendedDataset arrays)
"""
import argparse
import json
import os
import shutil
import tempfile

import numpy

import mcore_stub


def write_indexed(m, path_prefix, vocab_size, documents, modes=None):
    dtype = m.indexed_dataset.DType.optimal_dtype(vocab_size)
    builder = m.indexed_dataset.IndexedDatasetBuilder(
        path_prefix + ".bin", dtype=dtype, multimodal=modes is not None)
    for d, document in enumerate(documents):
        for s, sequence in enumerate(document):
            if modes is None:
                builder.add_item(mcore_stub.FakeTensor(sequence))
            else:
                builder.add_item(mcore_stub.FakeTensor(sequence), mode=modes[d][s])
        builder.end_document()
    builder.finalize(path_prefix + ".idx")


def random_documents(rng, n_docs, vocab_size, max_seqs, max_len):
    docs = []
    for _ in range(n_docs):
        n_seqs = int(rng.integers(0, max_seqs + 1))  # 0 = empty document (repeated docidx value)
        docs.append([rng.integers(0, vocab_size, size=int(rng.integers(1, max_len + 1))).tolist()
                     for _ in range(n_seqs)])
    return docs


def make_indexed(m, out):
    os.makedirs(out, exist_ok=True)
    rng = numpy.random.default_rng(20260101)
    cases = []
    specs = [("u16", 50257, False), ("i32", 100000, False), ("multimodal", 32000, True)]
    for name, vocab, multimodal in specs:
        docs = random_documents(rng, 12, vocab, 3, 17)
        if name == "i32":
            docs[0].append([vocab - 1, 65535, 65536, 0])  # values beyond uint16
        modes = ([[int(rng.integers(0, 3)) for _ in d] for d in docs] if multimodal else None)
        write_indexed(m, os.path.join(out, name), vocab, docs, modes)
        # Read back with megatron's own reader as a sanity check of the fixture itself.
        ds = m.indexed_dataset.IndexedDataset(os.path.join(out, name), multimodal=multimodal)
        flat = [s for d in docs for s in d]
        assert len(ds) == len(flat)
        for i, s in enumerate(flat):
            item = ds[i]
            tokens = item[0] if multimodal else item  # multimodal reads return (tokens, mode)
            assert tokens.tolist() == s
        cases.append({"name": name, "vocab_size": vocab, "multimodal": multimodal,
                      "documents": docs, "modes": modes})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"generator": "megatron-core 0.19.2 IndexedDatasetBuilder", "cases": cases}, f)


def make_corpus(m, prefix, n_seqs, max_len, seed):
    """Sequence i holds tokens (1000*i + k) % 50000 so tests can check sample contents."""
    rng = numpy.random.default_rng(seed)
    sizes = rng.integers(1, max_len + 1, size=n_seqs).tolist()
    docs = [[[(1000 * i + k) % 50000 for k in range(size)]] for i, size in enumerate(sizes)]
    write_indexed(m, prefix, 50257, docs)


def gpt_config(m, seq_len, seed, split, blend, cache):
    return m.gpt_dataset.GPTDatasetConfig(
        random_seed=seed, sequence_length=seq_len, blend=blend, split=split,
        path_to_cache=cache, tokenizer=mcore_stub.FakeTokenizer(),
        reset_position_ids=False, reset_attention_mask=False, eod_mask_loss=False)


def save_gpt_arrays(ds, out, stem):
    files = {}
    for array in ("document_index", "sample_index", "shuffle_index"):
        value = getattr(ds, array)
        path = f"{stem}-{array}.npy"
        numpy.save(os.path.join(out, path), numpy.asarray(value))
        files[array] = path
    samples = []
    for i in range(min(3, len(ds))):
        text, _, _ = ds._query_document_sample_shuffle_indices(i)
        samples.append([int(t) for t in text])
    return {"range": [int(ds.indices[0]), int(ds.indices[-1]) + 1], "num_samples": ds.num_samples,
            "length": len(ds), "files": files, "first_samples": samples}


def make_gpt(m, out):
    os.makedirs(out, exist_ok=True)
    make_corpus(m, os.path.join(out, "corpusA"), 60, 24, 7)
    make_corpus(m, os.path.join(out, "corpusB"), 35, 40, 8)
    prefix_a = os.path.join(out, "corpusA")
    prefix_b = os.path.join(out, "corpusB")
    corpus_a = m.indexed_dataset.IndexedDataset(prefix_a)  # keep alive: sizes view its mmap
    sizes_a = numpy.array(corpus_a.sequence_lengths)
    split_a = (0, 59)  # train range of split 98,2,0 on 60 sequences (see §3.2)
    t_train = int(sizes_a[split_a[0]:split_a[1]].sum())
    per_epoch = (t_train - 1) // 8

    # (name, corpus prefixes, weights, split, seq_len, seed, sizes per split)
    cases = [
        ("single_epoch", [prefix_a], None, "98,2,0", 8, 1234, [40, 5, None]),
        ("multi_epoch", [prefix_a], None, "8,1,1", 16, 5, [300, 30, 7]),
        ("separate_last", [prefix_a], None, "98,2,0", 8, 1234, [2 * per_epoch + 1, None, None]),
        ("not_separate", [prefix_a], None, "98,2,0", 8, 99, [3 * per_epoch - 2, None, None]),
        ("one_epoch_none", [prefix_b], None, "70,20,10", 12, 42, [None, None, None]),
        ("blend", [prefix_a, prefix_b], [0.3, 0.7], "90,10,0", 8, 1234, [50, 10, 5]),
        ("blend3", [prefix_a, prefix_b, prefix_a], [2.0, 1.0, 0.5], "100,0,0", 4, 7, [77, 1, 1]),
    ]
    results = []
    for name, prefixes, weights, split, seq_len, seed, sizes in cases:
        cache = tempfile.mkdtemp()
        blend = (prefixes, weights)
        config = gpt_config(m, seq_len, seed, split, blend, cache)
        builder = m.blended_megatron_dataset_builder.BlendedMegatronDatasetBuilder(
            m.gpt_dataset.GPTDataset, sizes, lambda: True, config)
        datasets = builder.build()
        case = {"name": name, "corpora": [os.path.basename(p) for p in prefixes],
                "weights": weights, "split": split, "sequence_length": seq_len, "seed": seed,
                "sizes": sizes, "splits": []}
        for split_i, ds in enumerate(datasets):
            split_name = ["train", "valid", "test"][split_i]
            if ds is None:
                case["splits"].append(None)
                continue
            entry = {"split": split_name}
            if isinstance(ds, m.blended_dataset.BlendedDataset):
                stem = f"{name}-{split_name}"
                for array in ("dataset_index", "dataset_sample_index"):
                    path = f"{stem}-{array}.npy"
                    numpy.save(os.path.join(out, path), getattr(ds, array))
                    entry[array] = path
                entry["blend_size"] = ds.size
                entry["datasets"] = [save_gpt_arrays(sub, out, f"{stem}-ds{j}")
                                     for j, sub in enumerate(ds.datasets)]
                entry["first_samples"] = [
                    [int(t) for t in
                     ds.datasets[ds.dataset_index[i]]._query_document_sample_shuffle_indices(
                         int(ds.dataset_sample_index[i]))[0]]
                    for i in range(3)]
            else:
                entry.update(save_gpt_arrays(ds, out, f"{name}-{split_name}"))
            case["splits"].append(entry)
        shutil.rmtree(cache)
        results.append(case)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"generator": "megatron-core 0.19.2 BlendedMegatronDatasetBuilder + GPTDataset",
                   "per_epoch_hint": per_epoch, "cases": results}, f, indent=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    m = mcore_stub.load(args.wheel)
    make_indexed(m, os.path.join(args.out, "indexed"))
    make_gpt(m, os.path.join(args.out, "gpt"))


if __name__ == "__main__":
    main()
