#!/usr/bin/env python3
"""HF `tokenizers` side of the tokenizer benchmark: same corpus, same vocab/merges, one thread.

Mode "loop": Tokenizer.encode per document (no Rayon involved). Mode "batch": encode_batch over all
documents, with RAYON_NUM_THREADS=1 set by run.sh so it too runs on one thread.
Prints one JSON line in the format of the Swift benchmark (checksum over the first pass's ids).
"""
import json
import os
import sys
import time

from tokenizers import Tokenizer, decoders, models, pre_tokenizers


def main():
    vocab_dir, corpus, passes, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(corpus, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    total_bytes = sum(len(t.encode("utf-8")) for t in texts)
    start = time.perf_counter()
    tok = Tokenizer(models.BPE.from_file(os.path.join(vocab_dir, "vocab.json"),
                                         os.path.join(vocab_dir, "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    load_seconds = time.perf_counter() - start

    seconds, first_ids = [], None
    for _ in range(passes):
        start = time.perf_counter()
        if mode == "batch":
            all_ids = [e.ids for e in tok.encode_batch(texts)]
        else:
            all_ids = [tok.encode(t).ids for t in texts]
        seconds.append(time.perf_counter() - start)
        first_ids = first_ids or all_ids
    checksum = 0xCBF29CE484222325
    for ids in first_ids:
        for i in ids:
            checksum = ((checksum ^ i) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    print(json.dumps({"impl": f"hf-tokenizers-{mode}", "documents": len(texts), "bytes": total_bytes,
                      "tokens": sum(len(i) for i in first_ids), "checksum": checksum,
                      "load_seconds": load_seconds, "seconds": seconds}))


if __name__ == "__main__":
    main()
