import XMoEBase
import XMoEStore

extension CheckpointDirectory {
    /// Root attributes `xmoe_version` and `xmoe_commit` ("unknown" outside a git checkout): which xmoe
    /// wrote the checkpoint (`spec_hash` says what it trained).
    static func stampProvenance(_ attributes: StoreAttributes) throws {
        try attributes.set("xmoe_version", .string(Provenance.version))
        try attributes.set("xmoe_commit", .string(Provenance.commit ?? "unknown"))
    }
}
