import Foundation
import Testing

/// Each malformed spec must fail with exit status 2, name the exact file:line:col and key path,
/// say what is allowed, and write nothing.
struct MalformedSpec: CustomTestStringConvertible, Sendable {
    var label: String
    var yaml: String
    var overrides: [String] = []
    /// Expected start of the error line: "spec.yaml:3:3: error: model.hidden:".
    var location: String
    var key: String
    /// A fragment of the message that says what is wrong or what is allowed.
    var says: String
    var testDescription: String { label }
}

let malformedSpecs: [MalformedSpec] = [
    .init(label: "unknown key with suggestion", yaml: "model:\n  hiden: 256\n",
          location: "spec.yaml:2:3", key: "model.hiden", says: "did you mean 'model.hidden'?"),
    .init(label: "key in the wrong section", yaml: "model:\n  layers: 2\n  num_experts: 16\n",
          location: "spec.yaml:3:3", key: "model.num_experts", says: "did you mean 'moe.num_experts'?"),
    .init(label: "unknown section", yaml: "optim:\n  lr: 1\n",
          location: "spec.yaml:1:1", key: "optim", says: "unknown key"),
    .init(label: "misspelled section", yaml: "modle:\n  hidden: 64\n",
          location: "spec.yaml:1:1", key: "modle", says: "did you mean 'model'?"),
    .init(label: "section key at top level", yaml: "hidden: 64\n",
          location: "spec.yaml:1:1", key: "hidden", says: "did you mean 'model.hidden'"),
    .init(label: "string for integer", yaml: "model:\n  heads: four\n",
          location: "spec.yaml:2:3", key: "model.heads", says: "expected an integer in [1, 4096], got 'four'"),
    .init(label: "quoted number", yaml: "model:\n  hidden: \"256\"\n",
          location: "spec.yaml:2:3", key: "model.hidden", says: "got the quoted string \"256\""),
    .init(label: "fraction for integer", yaml: "train:\n  iters: 10.5\n",
          location: "spec.yaml:2:3", key: "train.iters", says: "expected an integer"),
    .init(label: "bool as yes", yaml: "moe:\n  drop_tokens: yes\n",
          location: "spec.yaml:2:3", key: "moe.drop_tokens", says: "expected true or false"),
    .init(label: "mapping for scalar", yaml: "model:\n  hidden:\n    size: 4\n",
          location: "spec.yaml:2:3", key: "model.hidden", says: "got a mapping"),
    .init(label: "negative out of range", yaml: "model:\n  layers: -1\n",
          location: "spec.yaml:2:3", key: "model.layers", says: "out of range: expected an integer in [1, 1024]"),
    .init(label: "zero epsilon", yaml: "model:\n  norm_eps: 0\n",
          location: "spec.yaml:2:3", key: "model.norm_eps", says: "out of range: expected a number in (0.0, 1.0]"),
    .init(label: "choice with suggestion", yaml: "moe:\n  gating: sofmax_topk\n",
          location: "spec.yaml:2:3", key: "moe.gating", says: "did you mean 'softmax_topk'?"),
    .init(label: "single string for list", yaml: "data:\n  json_keys: text\n",
          location: "spec.yaml:2:3", key: "data.json_keys", says: "write [text]"),
    .init(label: "duplicate key", yaml: "model:\n  hidden: 64\n  hidden: 128\n",
          location: "spec.yaml:3:3", key: "model.hidden", says: "duplicate key (first set at spec.yaml:2:3)"),
    .init(label: "hidden not divisible by heads", yaml: "model:\n  hidden: 100\n  heads: 8\n",
          location: "spec.yaml:3:3", key: "model.heads", says: "must be divisible by model.heads (8)"),
    .init(label: "top_k above num_experts", yaml: "moe:\n  num_experts: 4\n  top_k: 6\n",
          location: "spec.yaml:3:3", key: "moe.top_k", says: "must not exceed moe.num_experts (4)"),
    .init(label: "experts not divisible by ep", yaml: "moe:\n  num_experts: 6\nparallel:\n  dp: 4\n  ep: 4\n",
          location: "spec.yaml:5:3", key: "parallel.ep", says: "must be divisible by parallel.ep (4)"),
    .init(label: "world size not dp·tp", yaml: "parallel:\n  dp: 2\n  tp: 2\n  world_size: 8\n",
          location: "spec.yaml:4:3", key: "parallel.world_size", says: "must equal dp·tp = 2·2 = 4"),
    .init(label: "global batch not divisible", yaml: "parallel:\n  dp: 2\ntrain:\n  micro_batch: 3\n  global_batch: 8\n",
          location: "spec.yaml:5:3", key: "train.global_batch", says: "divisible by micro_batch·dp = 3·2 = 6"),
    .init(label: "first dense layers above layers", yaml: "model:\n  layers: 2\n  first_dense_layers: 3\n",
          location: "spec.yaml:3:3", key: "model.first_dense_layers", says: "exceeds model.layers (2)"),
    .init(label: "odd head dimension", yaml: "model:\n  hidden: 12\n  heads: 4\n",
          location: "spec.yaml:3:3", key: "model.heads", says: "must be even for RoPE"),
    .init(label: "input and prefix both", yaml: "data:\n  input: a.jsonl\n  prefix: b_text_document\n",
          location: "spec.yaml:3:3", key: "data.prefix", says: "not both"),
    .init(label: "bad split", yaml: "data:\n  split: \"98,2,x\"\n",
          location: "spec.yaml:2:3", key: "data.split", says: "non-negative numbers"),
    .init(label: "min_lr above lr", yaml: "train:\n  lr: 1.0e-4\n  min_lr: 1.0e-3\n",
          location: "spec.yaml:3:3", key: "train.min_lr", says: "must not exceed train.lr"),
    .init(label: "syntax error", yaml: "model:\n  hidden: [64\n",
          location: "spec.yaml:3:1", key: "", says: "YAML syntax"),
    .init(label: "extends missing file", yaml: "extends: nowhere.yaml\n",
          location: "spec.yaml:1:1", key: "extends", says: "does not exist"),
    .init(label: "override unknown key", yaml: "model:\n  hidden: 64\n", overrides: ["model.hiddn=128"],
          location: "command line: override #1 'model.hiddn=128'", key: "model.hiddn", says: "did you mean 'model.hidden'?"),
    .init(label: "override wrong type", yaml: "", overrides: ["train.micro_batch=4", "train.lr=fast"],
          location: "command line: override #2 'train.lr=fast'", key: "train.lr", says: "expected a number"),
    .init(label: "override without equals", yaml: "", overrides: ["model.hidden"],
          location: "command line: override #1 'model.hidden'", key: "", says: "must look like key.path=value"),
    .init(label: "override breaks a cross-field rule", yaml: "moe:\n  num_experts: 8\n", overrides: ["moe.top_k=9"],
          location: "command line: override #1 'moe.top_k=9'", key: "moe.top_k", says: "must not exceed moe.num_experts (8)"),
]

@Suite struct MalformedSpecTests {
    @Test(arguments: malformedSpecs)
    func failsWithPositionAndWritesNothing(_ case_: MalformedSpec) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("spec.yaml", case_.yaml)
        let before = dir.listing()
        for command in ["config", "plan"] {
            let result = try XMoEBinary.run([command, "spec.yaml"] + case_.overrides, in: dir.url)
            #expect(result.status == 2, "\(command): \(result.stderr)")
            let keyPart = case_.key.isEmpty ? "" : " \(case_.key):"
            let line = result.stderr.split(separator: "\n").first { $0.hasPrefix(case_.location + ": error:" + keyPart) }
            #expect(line != nil, "expected '\(case_.location): error:\(keyPart)' in:\n\(result.stderr)")
            #expect(line?.contains(case_.says) == true, "expected '\(case_.says)' in:\n\(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(dir.listing() == before, "\(command) wrote files despite the error")
        }
    }

    @Test func cycleInExtendsIsReported() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("a.yaml", "extends: b.yaml\n")
        try dir.write("b.yaml", "extends: c.yaml\n")
        try dir.write("c.yaml", "extends: a.yaml\n")
        let result = try XMoEBinary.run(["config", "a.yaml"], in: dir.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains("`extends` cycle: a.yaml → b.yaml → c.yaml → a.yaml"), "\(result.stderr)")
    }
}
