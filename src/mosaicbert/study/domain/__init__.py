"""The domain study (issue 32): own vocabulary, whole-word masking, domain upsampling, at equal wall-clock."""
