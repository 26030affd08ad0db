package natsconn_test

import (
	"fmt"

	"github.com/splitinfer/splitinfer/pipeline/natsconn"
)

// An edge's private inbox prefix comes from its identity, so the server's
// permissions can allow it its own replies and no one else's.
func ExampleInboxPrefixFor() {
	fmt.Println(natsconn.InboxPrefixFor("edge1"))
	// Output: _INBOX_edge1
}

// URLs are shown with the password redacted, in logs and errors alike.
func ExampleRedactURL() {
	fmt.Println(natsconn.RedactURL("tls://edge1:s3cret@nats.example.com:4222"))
	// Output: tls://edge1:xxxxx@nats.example.com:4222
}
