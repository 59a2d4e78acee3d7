package monitor

import "time"

func (m *Monitor) TopicHistory(topic string, span time.Duration) TopicHistory {
	return TopicHistory{Topic: topic}
}
