"""The turn engine: one message's straight path from an InboundEvent to replies, in one transaction."""
