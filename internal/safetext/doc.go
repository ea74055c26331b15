// Package safetext makes text from a dump site safe to show a person: on a
// terminal, in a log line, a progress bar or a report. It drops what
// would act instead of being read (control characters, terminal escapes)
// or rearrange what is read (bidi overrides, line separators, invisible
// characters), and caps the length. What it returns is for display only,
// never for a path or an identity.
package safetext
