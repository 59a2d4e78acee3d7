package connectors

// RedactURL is redactURL, for the external tests.
var RedactURL = redactURL
