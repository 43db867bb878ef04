"""A volunteer's own data rights: the subject-access export and erasure (UK GDPR Articles 15
and 17), with what must be kept for safeguarding said plainly."""
