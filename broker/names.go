package broker

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// ValidateTopicName reports whether name is a topic name the real Danube broker accepts: exactly three
// '/'-separated parts ("/namespace/topic"), each made only of Unicode letters and digits, '_' and '-'. Like the
// real broker it accepts empty parts ("/default/") and a missing leading slash ("a/b/c"); it rejects '.', ':',
// spaces and deeper paths, and names longer than MaxTopicNameLength bytes. The error wraps ErrInvalidTopicName.
func ValidateTopicName(name string) error {
	if len(name) > MaxTopicNameLength {
		return fmt.Errorf("%w: the name is %d bytes; the limit is %d", ErrInvalidTopicName, len(name), MaxTopicNameLength)
	}
	parts := strings.Split(name, "/")
	if len(parts) != 3 {
		return fmt.Errorf("%w: %q must be /namespace/topic", ErrInvalidTopicName, name)
	}
	for _, p := range parts {
		for _, r := range p {
			if !isNameRune(r) {
				return fmt.Errorf("%w: %q contains %q; use letters, digits, '_' and '-'", ErrInvalidTopicName, name, r)
			}
		}
	}
	return nil
}

// isNameRune mirrors Rust's char::is_alphanumeric plus '_' and '-'.
func isNameRune(r rune) bool {
	return r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Other_Alphabetic, r)
}

// namespaceOf returns the namespace part of a valid topic name (the middle part).
func namespaceOf(topic string) string {
	parts := strings.SplitN(topic, "/", 3)
	return parts[1]
}

// PartitionName returns the name of partition i of a partitioned topic: "<base>-part-<i>", the name both
// official clients build.
func PartitionName(base string, i int) string {
	return base + "-part-" + strconv.Itoa(i)
}

// partitionBase returns the base topic and true when name is a partition name ("<base>-part-<N>").
func partitionBase(name string) (string, bool) {
	i := strings.LastIndex(name, "-part-")
	if i < 0 {
		return "", false
	}
	n := name[i+len("-part-"):]
	if n == "" {
		return "", false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return name[:i], true
}
