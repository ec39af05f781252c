package config

import (
	"strings"
	"testing"
)

func TestLoadPrecedenceAndValidation(t *testing.T) {
	env := map[string]string{"FORKLINE_LISTEN": "127.0.0.1:5000", "FORKLINE_REGION": "eu-west-1", "FORKLINE_DATA_DIR": "/tmp/x"}
	c, err := Load([]string{"--region", "ap-south-1"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:5000" || c.Region != "ap-south-1" || c.DataDir != "/tmp/x" || c.AccountID != "000000000000" {
		t.Fatalf("config %+v", c)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:4566"}, "beyond loopback without credentials"},
		{[]string{"--listen", ":4566"}, "beyond loopback without credentials"},
		{[]string{"--account-id", "12"}, "12 digits"},
		{[]string{"--region", "mars"}, "region"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		_, err := Load(tc.args, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v) = %v, want error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := Load([]string{"--listen", "0.0.0.0:4566", "--credentials-file", "/x"}, func(string) string { return "" }); err != nil {
		t.Errorf("public listen with credentials: %v", err)
	}
	for _, addr := range []string{"127.0.0.1:1", "[::1]:1", "localhost:1"} {
		if ok, err := IsLoopback(addr); !ok || err != nil {
			t.Errorf("IsLoopback(%s) = %v, %v", addr, ok, err)
		}
	}
}
