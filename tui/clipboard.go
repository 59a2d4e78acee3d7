package tui

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// copyFile is where copyText also writes what it copies: OSC 52 is write-only, so the console cannot
// know whether the terminal took it, and a terminal (or tmux without set-clipboard) may ignore it.
var copyFile = filepath.Join(os.TempDir(), "danube-console-"+strconv.Itoa(os.Getpid())+"-copy.txt")

// copyText copies text to the terminal's clipboard with OSC 52 (tea.SetClipboard) and writes it to
// copyFile, in commands; the status then says what was copied (what, e.g. "payload of offset 42"), its
// size, and where else to find it, or why the file could not be written. Any component may call it.
func copyText(what, text string) tea.Cmd {
	path := copyFile
	return tea.Batch(tea.SetClipboard(text), func() tea.Msg {
		size := fmtBytes(float64(len(text)))
		hint := ""
		if os.Getenv("TMUX") != "" {
			hint = " (tmux passes it on with set -g set-clipboard on)"
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return statusMsg{level: levelWarn, text: "copied " + what + " (" + size + ") with OSC 52, but not to a file: " + err.Error() + hint}
		}
		return statusMsg{level: levelInfo, text: "copied " + what + " (" + size + ") with OSC 52 and to " + path + hint}
	})
}

// offsetText names a message by its topic and offset, as copied: "/ns/topic@42".
func offsetText(m *monitor.Message) string { return m.Topic + "@" + strconv.FormatUint(m.Offset, 10) }

// messageJSON is a message as the inspector copies it: what the inspector shows, as an indented JSON
// document. The payload is kept as JSON when it is JSON, as a string when it is text, else base64.
func messageJSON(m *monitor.Message) (string, error) {
	type doc struct {
		Topic         string            `json:"topic"`
		Offset        uint64            `json:"offset"`
		Subscription  string            `json:"subscription,omitempty"`
		Consumer      string            `json:"consumer,omitempty"`
		Producer      string            `json:"producer,omitempty"`
		ProducerID    uint64            `json:"producer_id"`
		Broker        string            `json:"broker,omitempty"`
		PublishTime   *time.Time        `json:"publish_time,omitempty"`
		ReceivedAt    *time.Time        `json:"received_at,omitempty"`
		Key           *string           `json:"key,omitempty"`
		SchemaID      uint64            `json:"schema_id,omitempty"`
		SchemaVersion uint32            `json:"schema_version,omitempty"`
		Redelivered   bool              `json:"redelivered"`
		Attributes    map[string]string `json:"attributes,omitempty"`
		Payload       json.RawMessage   `json:"payload,omitempty"`
		PayloadText   *string           `json:"payload_text,omitempty"`
		PayloadBase64 []byte            `json:"payload_base64,omitempty"`
	}
	d := doc{Topic: m.Topic, Offset: m.Offset, Subscription: m.Subscription, Consumer: m.Consumer,
		Producer: m.ProducerName, ProducerID: m.ProducerID, Broker: m.BrokerAddr, SchemaID: m.SchemaID,
		SchemaVersion: m.SchemaVersion, Redelivered: m.Redelivered, Attributes: m.Attributes}
	if !m.PublishTime.IsZero() {
		d.PublishTime = &m.PublishTime
	}
	if !m.ReceivedAt.IsZero() {
		d.ReceivedAt = &m.ReceivedAt
	}
	if m.HasKey {
		d.Key = &m.Key
	}
	switch p := m.Payload; {
	case len(p) > 0 && json.Valid(p):
		d.Payload = p
	case utf8.Valid(p):
		s := string(p)
		d.PayloadText = &s
	default:
		d.PayloadBase64 = p
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", fmt.Errorf("message at %s as JSON: %w", offsetText(m), err)
	}
	return string(b), nil
}
