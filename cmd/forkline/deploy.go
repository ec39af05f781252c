package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/forkline/forkline/internal/deploy"
	"github.com/forkline/forkline/internal/server"
)

const deployUsage = `usage:
  forkline deploy --template-file FILE --stack-name NAME [--parameter-overrides K=V ...]
                  [--capabilities CAP ...] [--s3-bucket BUCKET] [--tags K=V ...]
                  [--no-execute-changeset] [--endpoint-url URL] [--region REGION]
  forkline delete NAME [--endpoint-url URL] [--region REGION]
  forkline validate FILE

deploy packages local CodeUri, ContentUri, DefinitionUri, Location and
TemplateURL paths into BUCKET (default forkline-deploy-artifacts), creates a
change set, executes it and shows each resource's progress. It acknowledges
CAPABILITY_IAM, CAPABILITY_NAMED_IAM and CAPABILITY_AUTO_EXPAND unless
--capabilities names others. The endpoint is AWS_ENDPOINT_URL, else
http://127.0.0.1:4566; credentials come from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY.
`

// cliArgs parses AWS CLI style flags: --name value, --name v1 v2 ... for
// lists, --flag for booleans.
type cliArgs struct {
	single map[string]string
	lists  map[string][]string
	flags  map[string]bool
	rest   []string
}

func parseCLI(args []string, lists, flags map[string]bool) (*cliArgs, error) {
	a := &cliArgs{single: map[string]string{}, lists: map[string][]string{}, flags: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "--") {
			a.rest = append(a.rest, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		switch {
		case flags[name]:
			a.flags[name] = true
		case lists[name]:
			if hasValue {
				a.lists[name] = append(a.lists[name], value)
			}
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				a.lists[name] = append(a.lists[name], args[i])
			}
		default:
			if !hasValue {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("--%s needs a value", name)
				}
				i++
				value = args[i]
			}
			a.single[name] = value
		}
	}
	return a, nil
}

func pairs(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func client(a *cliArgs) *deploy.Client {
	endpoint := a.single["endpoint-url"]
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if endpoint == "" {
		endpoint = "http://127.0.0.1:4566"
	}
	region := a.single["region"]
	for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if region == "" {
			region = os.Getenv(env)
		}
	}
	if region == "" {
		region = "us-east-1"
	}
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if key == "" {
		key, secret = "forkline", "forkline"
	}
	return deploy.NewClient(endpoint, region, key, secret, os.Stdout)
}

// stackCommand runs deploy, delete or validate.
func stackCommand(cmd string, args []string) error {
	a, err := parseCLI(args, map[string]bool{"parameter-overrides": true, "capabilities": true, "tags": true},
		map[string]bool{"no-execute-changeset": true, "help": true})
	if err != nil {
		return err
	}
	if a.flags["help"] {
		fmt.Print(deployUsage)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "deploy":
		in := deploy.Input{TemplateFile: a.single["template-file"], StackName: a.single["stack-name"], Bucket: a.single["s3-bucket"],
			Capabilities: a.lists["capabilities"], NoExecute: a.flags["no-execute-changeset"]}
		if in.TemplateFile == "" || in.StackName == "" {
			return fmt.Errorf("deploy needs --template-file and --stack-name\n%s", deployUsage)
		}
		if in.Parameters, err = pairs(a.lists["parameter-overrides"]); err != nil {
			return err
		}
		if in.Tags, err = pairs(a.lists["tags"]); err != nil {
			return err
		}
		return client(a).Deploy(ctx, in)
	case "delete":
		name := a.single["stack-name"]
		if name == "" && len(a.rest) == 1 {
			name = a.rest[0]
		}
		if name == "" {
			return fmt.Errorf("delete needs a stack name\n%s", deployUsage)
		}
		return client(a).Delete(ctx, name)
	case "validate":
		file := a.single["template-file"]
		if file == "" && len(a.rest) == 1 {
			file = a.rest[0]
		}
		if file == "" {
			return fmt.Errorf("validate needs a template file\n%s", deployUsage)
		}
		summary, err := deploy.Validate(ctx, file, server.ResourceTypes())
		if err != nil {
			return err
		}
		fmt.Println(summary)
		return nil
	}
	return fmt.Errorf("unknown command %q", cmd)
}
