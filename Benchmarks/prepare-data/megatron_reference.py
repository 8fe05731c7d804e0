#!/usr/bin/env python3
"""Reference for `xmoe prepare-data`: megatron-core's `tools/preprocess_data.py` path, without torch.

What it reproduces (megatron-core, GPT2BPETokenizer, no --split-sentences, --partitions 1):
  * the input is read in text mode, UTF-8, one JSON document per line (gzip input is opened with
    gzip.open in text mode, which splits lines the same way);
  * multiprocessing.Pool(workers, initializer) + pool.imap(encode, lines, 32), order preserved;
  * encode: json.loads(line); per key: a string is one sentence, a list is pre-split sentences;
    each sentence tokenized alone; empty ones dropped; with --append-eod, EOD (50256) is appended
    to a non-empty document and counted in its last sentence length (megatron-core's fix);
  * megatron-core 0.19.2's own IndexedDatasetBuilder (add_document per document, finalize), dtype
    from DType.optimal_dtype(vocab_size) -> uint16. Every key's builder is finalized.

Tokenizer: Hugging Face `tokenizers` with GPT-2's vocab/merges, byte-level pre-tokenizer, no added
special tokens: ids equal Megatron's legacy GPT2BPETokenizer (a literal "<|endoftext|>" in text is
ordinary text; megatron-core's HF AutoTokenizer path would turn it into 50256 instead).

megatron-core is loaded from the unpacked PyPI wheel (--megatron-dir) with torch stubbed out, as
shared/reference/megatron-data.md 4.5/6 describe:
  pip download --no-deps --python-version 3.12 --only-binary=:all: megatron-core==0.19.2
  unzip megatron_core-0.19.2-*.whl -d MEGATRON_DIR
Needs numpy and tokenizers.
"""
import argparse
import gzip
import json
import multiprocessing
import os
import sys
import time


def stub_torch_and_load_indexed_dataset(megatron_dir):
    # The torch stand-ins live in one place, tools/megatron-crosscheck/mcore_stub.py.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "megatron-crosscheck"))
    import mcore_stub
    return mcore_stub.load(megatron_dir).indexed_dataset


class Encoder:
    def __init__(self, args):
        self.args = args

    def initializer(self):
        from tokenizers import Tokenizer, models, pre_tokenizers
        tokenizer = Tokenizer(models.BPE.from_file(os.path.join(self.args.vocab_dir, "vocab.json"),
                                                   os.path.join(self.args.vocab_dir, "merges.txt")))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        Encoder.tokenizer = tokenizer
        Encoder.eod = tokenizer.token_to_id("<|endoftext|>")

    def encode(self, json_line):
        data = json.loads(json_line)
        ids = {}
        lens = {}
        for key in self.args.json_keys:
            text = data[key]
            sentences = text if isinstance(text, list) else [text]
            doc_ids = []
            sentence_lens = []
            for sentence in sentences:
                sentence_ids = Encoder.tokenizer.encode(sentence).ids
                if len(sentence_ids) > 0:
                    doc_ids.extend(sentence_ids)
                    sentence_lens.append(len(sentence_ids))
            if len(doc_ids) > 0 and self.args.append_eod:
                doc_ids.append(Encoder.eod)
                sentence_lens[-1] += 1
            ids[key] = doc_ids
            lens[key] = sentence_lens
        return ids, lens, len(json_line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--output-prefix", required=True)
    parser.add_argument("--json-keys", nargs="+", default=["text"])
    parser.add_argument("--append-eod", action="store_true")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--vocab-dir", required=True)
    parser.add_argument("--megatron-dir", required=True)
    args = parser.parse_args()

    start = time.perf_counter()
    indexed_dataset = stub_torch_and_load_indexed_dataset(args.megatron_dir)
    encoder = Encoder(args)
    opener = gzip.open if args.input.endswith(".gz") else open
    fin = opener(args.input, "rt", encoding="utf-8")
    pool = multiprocessing.Pool(args.workers, initializer=encoder.initializer)
    encoded_docs = pool.imap(encoder.encode, fin, 32)

    vocab_size = len(json.load(open(os.path.join(args.vocab_dir, "vocab.json"), encoding="utf-8")))
    builders, idx_files = {}, {}
    for key in args.json_keys:
        stem = "{}_{}_{}".format(args.output_prefix, key, "document")
        idx_files[key] = stem + ".idx"
        builders[key] = indexed_dataset.IndexedDatasetBuilder(
            stem + ".bin", dtype=indexed_dataset.DType.optimal_dtype(vocab_size))
    documents = 0
    for doc, sentence_lens, _ in encoded_docs:
        for key in doc.keys():
            builders[key].add_document(doc[key], sentence_lens[key])
        documents += 1
    fin.close()
    pool.close()
    pool.join()
    for key in args.json_keys:
        builders[key].finalize(idx_files[key])
    print(json.dumps({"documents": documents, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
