package wirecodec_test

import (
	"log"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wirecodec"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// A client whose responses' raw_output_contents point into the received
// message instead of being copied out of it, and a server doing the same
// for raw_input_contents.
func Example() {
	conn, err := grpc.NewClient("localhost:8001",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		wirecodec.DialOption(),
		// Tensors outgrow grpc's 4 MiB default quickly.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := oippb.NewClient(conn)
	_ = client

	srv := grpc.NewServer(wirecodec.ServerOption())
	_ = srv
}
