"""Core (pure stdlib): names, versions, refs, digests, findings, policy, pinning."""
