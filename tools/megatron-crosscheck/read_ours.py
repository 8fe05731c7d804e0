"""Read .idx/.bin files written by xmoe's IndexedDatasetWriter with megatron-core's reader.

    mkdir /tmp/ours && XMOE_CROSSCHECK_OUT=/tmp/ours swift test --filter byteIdenticalToMegatron
    python read_ours.py --wheel wheel/mc --dir /tmp/ours \
        --manifest ../../Tests/XMoEDataTests/Fixtures/megatron/indexed/manifest.json
"""
import argparse
import json
import os

import mcore_stub


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--manifest", required=True)
    args = parser.parse_args()
    m = mcore_stub.load(args.wheel)
    with open(args.manifest) as f:
        cases = json.load(f)["cases"]
    for case in cases:
        prefix = os.path.join(args.dir, case["name"])
        ds = m.indexed_dataset.IndexedDataset(prefix, multimodal=case["multimodal"])
        sequences = [s for d in case["documents"] for s in d]
        assert len(ds) == len(sequences), case["name"]
        for i, s in enumerate(sequences):
            item = ds[i]
            tokens, mode = (item if case["multimodal"] else (item, None))
            assert tokens.tolist() == s, (case["name"], i)
            if case["multimodal"]:
                assert int(mode) == [x for d in case["modes"] for x in d][i]
        ends = [0]
        for d in case["documents"]:
            ends.append(ends[-1] + len(d))
        assert ds.document_indices.tolist() == ends, case["name"]
        print(f"{case['name']}: megatron-core read {len(ds)} sequences, "
              f"{len(ds.document_indices) - 1} documents, dtype {ds.index.dtype.__name__}: OK")


if __name__ == "__main__":
    main()
