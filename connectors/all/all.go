// Package all registers every built-in connector kind in connectors.DefaultEnv: import it for its side
// effect.
//
//	import _ "github.com/danube-console/danube-console/connectors/all"
package all

import (
	// The built-in connector kinds.
	_ "github.com/danube-console/danube-console/connectors/filetail"
	_ "github.com/danube-console/danube-console/connectors/generator"
	_ "github.com/danube-console/danube-console/connectors/httpsink"
	_ "github.com/danube-console/danube-console/connectors/jsonlsink"
	_ "github.com/danube-console/danube-console/connectors/mqtt"
	_ "github.com/danube-console/danube-console/connectors/postgres"
	_ "github.com/danube-console/danube-console/connectors/webhook"
)
