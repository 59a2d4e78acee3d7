package disk

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Topic names become directory names that are safe on every file system and reversible: "t-" followed by the
// hex encoding of the whole name. Names too long for that ("h-" directories) use a hash of the name and keep
// the name itself in a file inside the directory.

const (
	hexPrefix   = "t-"
	hashPrefix  = "h-"
	nameFile    = "TOPIC"
	maxHexName  = 100 // bytes of topic name; the directory name is then at most 202 bytes
	segSuffix   = ".seg"
	segNameLen  = 20 // decimal digits of a uint64
	trashPrefix = ".deleted-"
)

// topicDirName maps a topic name to its directory name and reports whether the name has to be kept in a file.
func topicDirName(topic string) (name string, hashed bool) {
	if len(topic) <= maxHexName {
		return hexPrefix + hex.EncodeToString([]byte(topic)), false
	}
	sum := sha256.Sum256([]byte(topic))
	return hashPrefix + hex.EncodeToString(sum[:16]), true
}

// topicFromDirName reverses topicDirName for hex directories; ok is false for anything else.
func topicFromDirName(name string) (topic string, ok bool) {
	rest, found := strings.CutPrefix(name, hexPrefix)
	if !found {
		return "", false
	}
	b, err := hex.DecodeString(rest)
	if err != nil || len(b) > maxHexName {
		return "", false
	}
	return string(b), true
}

func segmentName(base uint64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

// parseSegmentName returns the first offset encoded in a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != segNameLen {
		return 0, false
	}
	base, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return base, true
}
