// SPDX-License-Identifier: Apache-2.0
//
// cnitool: runs a CNI conflist the way a container runtime does, through the real libcni
// (libcni.CNIConfig and its result cache), for sluice's interop tests. Built offline against
// Debian's golang-github-appc-cni-dev (libcni 1.1.2) in GOPATH mode; see tests/libcni/libcni.mk.
//
// Usage:
//
//	cnitool -cachedir DIR [-confdir DIR] [-path BINDIRS] [-args K=V;K=V] [-caps JSON]
//	        [-timeout DUR] [-cached-config] add|check|del CONFLIST CONTAINER_ID NETNS_PATH [IFNAME]
//	cnitool -cachedir DIR [...] status CONFLIST
//	cnitool -cachedir DIR [...] gc CONFLIST [CONTAINER_ID[/IFNAME] ...]   (valid attachments)
//	cnitool [-path BINDIRS] version PLUGIN_TYPE
//
// CONFLIST is a .conflist (or single-plugin .conf) file, or, with -confdir, a network name
// looked up in that directory as libcni.LoadConfList does. IFNAME defaults to eth0.
//
// Output and exit status:
//
//	add      the final result as JSON on stdout, exactly as libcni returns it; exit 0
//	check    nothing; exit 0
//	del      nothing; exit 0
//	version  the plugin's version info as JSON ({"cniVersion":..,"supportedVersions":[..]})
//	error    the CNI error JSON ({"code","msg","details"}) on stdout, libcni's full message on
//	         stderr; exit 1. Errors raised by libcni itself (not by a plugin) carry code 0.
//	gc/status with a libcni that lacks GCNetworkList/GetStatusNetworkList (1.1.x): a message
//	         on stderr, exit 2 (tests skip on 2).
//	usage    exit 3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

const (
	exitOK          = 0
	exitCNIError    = 1
	exitUnsupported = 2
	exitUsage       = 3
)

var (
	cacheDir   = flag.String("cachedir", "", "libcni result cache directory (required for add/check/del/gc/status)")
	confDir    = flag.String("confdir", "", "look CONFLIST up by network name in this directory")
	pluginPath = flag.String("path", "", "plugin directories, ':'-separated (default $CNI_PATH, else /opt/cni/bin)")
	cniArgs    = flag.String("args", "", "CNI_ARGS as K=V;K=V (RuntimeConf.Args)")
	capsJSON   = flag.String("caps", "", "RuntimeConf.CapabilityArgs as a JSON object")
	timeout    = flag.Duration("timeout", 2*time.Minute, "give up (killing the plugin) after this long")
	fromCache  = flag.Bool("cached-config", false, "check/del: use the conflist, CNI_ARGS and capability args "+
		"cached by ADD when present (GetNetworkListCachedConfig, as podman does on teardown)")
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s -cachedir DIR [-confdir DIR] [-path BINDIRS] [-args K=V;K=V] [-caps JSON] "+
		"[-timeout DUR] [-cached-config] add|check|del CONFLIST CONTAINER_ID NETNS_PATH [IFNAME]\n"+
		"       %[1]s -cachedir DIR [...] status CONFLIST\n"+
		"       %[1]s -cachedir DIR [...] gc CONFLIST [CONTAINER_ID[/IFNAME] ...]\n"+
		"       %[1]s [-path BINDIRS] version PLUGIN_TYPE\n", filepath.Base(os.Args[0]))
	flag.PrintDefaults()
}

func die(code int, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "cnitool: "+format+"\n", a...)
	os.Exit(code)
}

// fail prints err as CNI error JSON on stdout (the plugin's own error when libcni wrapped
// one, code 0 for libcni's own errors) and the full wrapped message on stderr, then exits 1.
func fail(err error) {
	var cerr *types.Error
	if !errors.As(err, &cerr) {
		cerr = &types.Error{Code: types.ErrUnknown, Msg: err.Error()}
	}
	out, merr := json.Marshal(cerr)
	if merr != nil {
		die(exitCNIError, "%v (and marshalling the error failed: %v)", err, merr)
	}
	fmt.Fprintf(os.Stdout, "%s\n", out)
	fmt.Fprintf(os.Stderr, "cnitool: %v\n", err)
	os.Exit(exitCNIError)
}

func parseArgs(s string) ([][2]string, error) {
	var pairs [][2]string
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		i := strings.IndexByte(kv, '=')
		if i <= 0 {
			return nil, fmt.Errorf("bad -args pair %q (want K=V)", kv)
		}
		pairs = append(pairs, [2]string{kv[:i], kv[i+1:]})
	}
	return pairs, nil
}

func parseCaps(s string) (map[string]interface{}, error) {
	if s == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber() // keep numbers exactly as given (no float64 round trip)
	caps := map[string]interface{}{}
	if err := dec.Decode(&caps); err != nil {
		return nil, fmt.Errorf("bad -caps JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("bad -caps JSON: trailing data")
	}
	return caps, nil
}

// loadList reads CONFLIST: a file (.conflist, or a single-plugin .conf upconverted as
// runtimes do), or with -confdir a network name resolved by libcni.LoadConfList.
func loadList(name string) (*libcni.NetworkConfigList, error) {
	if *confDir != "" {
		if _, err := os.Stat(name); err != nil {
			return libcni.LoadConfList(*confDir, name)
		}
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, ok := probe["plugins"]; ok {
		return libcni.ConfListFromBytes(data)
	}
	conf, err := libcni.ConfFromBytes(data)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromConf(conf)
}

func pluginDirs() []string {
	p := *pluginPath
	if p == "" {
		p = os.Getenv("CNI_PATH")
	}
	if p == "" {
		p = "/opt/cni/bin"
	}
	var dirs []string
	for _, d := range filepath.SplitList(p) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// optionalMethod finds a method of *CNIConfig by name at run time, so this file builds
// against libcni 1.1.x (which lacks GC/STATUS) and uses them with libcni >= 1.2.
func optionalMethod(cfg *libcni.CNIConfig, name string, nin int) (reflect.Value, bool) {
	m := reflect.ValueOf(cfg).MethodByName(name)
	if !m.IsValid() || m.Type().NumIn() != nin || m.Type().NumOut() < 1 {
		return reflect.Value{}, false
	}
	return m, true
}

func callErr(out []reflect.Value) error {
	last := out[len(out)-1]
	if last.IsNil() {
		return nil
	}
	err, _ := last.Interface().(error)
	return err
}

func unsupported(verb, method string) {
	die(exitUnsupported, "%s not supported by libcni 1.1.2 (this build of libcni has no %s)", verb, method)
}

func doStatus(ctx context.Context, cfg *libcni.CNIConfig, list *libcni.NetworkConfigList) {
	m, ok := optionalMethod(cfg, "GetStatusNetworkList", 2)
	if !ok || m.Type().In(1) != reflect.TypeOf(list) {
		unsupported("STATUS", "GetStatusNetworkList")
	}
	if err := callErr(m.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(list)})); err != nil {
		fail(err)
	}
}

// doGC calls GCNetworkList(ctx, list, *GCArgs) where GCArgs{ValidAttachments []GCAttachment};
// the argument is built by reflection from JSON so that no libcni >= 1.2 type is named here.
func doGC(ctx context.Context, cfg *libcni.CNIConfig, list *libcni.NetworkConfigList, valid []string) {
	m, ok := optionalMethod(cfg, "GCNetworkList", 3)
	if !ok || m.Type().In(1) != reflect.TypeOf(list) || m.Type().In(2).Kind() != reflect.Ptr {
		unsupported("GC", "GCNetworkList")
	}
	type attachment struct {
		ContainerID string `json:"containerID"`
		IfName      string `json:"ifname"`
	}
	atts := []attachment{}
	for _, v := range valid {
		cid, ifn := v, "eth0"
		if i := strings.IndexByte(v, '/'); i >= 0 {
			cid, ifn = v[:i], v[i+1:]
		}
		atts = append(atts, attachment{cid, ifn})
	}
	raw, _ := json.Marshal(map[string]interface{}{"ValidAttachments": atts})
	gcArgs := reflect.New(m.Type().In(2).Elem())
	if err := json.Unmarshal(raw, gcArgs.Interface()); err != nil {
		die(exitUnsupported, "GC: cannot build %v: %v", m.Type().In(2), err)
	}
	if err := callErr(m.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(list), gcArgs})); err != nil {
		fail(err)
	}
}

// withCachedConfig swaps in the conflist and runtime config ADD cached, when any.
func withCachedConfig(cfg *libcni.CNIConfig, list *libcni.NetworkConfigList,
	rt *libcni.RuntimeConf) (*libcni.NetworkConfigList, *libcni.RuntimeConf) {
	data, crt, err := cfg.GetNetworkListCachedConfig(list, rt)
	if err != nil {
		fail(err)
	}
	if len(data) == 0 || crt == nil {
		return list, rt
	}
	clist, err := libcni.ConfListFromBytes(data)
	if err != nil {
		fail(fmt.Errorf("cached config: %w", err))
	}
	return clist, crt
}

func main() {
	flag.Usage = usage
	flag.Parse()
	args := flag.Args()
	if len(args) < 2 {
		usage()
		os.Exit(exitUsage)
	}
	verb := args[0]
	ctx := context.Background()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}

	if verb == "version" {
		if len(args) != 2 {
			usage()
			os.Exit(exitUsage)
		}
		cfg := libcni.NewCNIConfig(pluginDirs(), nil)
		info, err := cfg.GetVersionInfo(ctx, args[1])
		if err != nil {
			fail(err)
		}
		if err := info.Encode(os.Stdout); err != nil {
			die(exitCNIError, "%v", err)
		}
		return
	}

	switch verb {
	case "add", "check", "del":
		if len(args) < 4 || len(args) > 5 {
			usage()
			os.Exit(exitUsage)
		}
	case "status":
		if len(args) != 2 {
			usage()
			os.Exit(exitUsage)
		}
	case "gc":
	default:
		fmt.Fprintf(os.Stderr, "cnitool: unknown command %q\n", verb)
		usage()
		os.Exit(exitUsage)
	}
	if *cacheDir == "" {
		die(exitUsage, "-cachedir is required (never defaults to /var/lib/cni)")
	}

	list, err := loadList(args[1])
	if err != nil {
		fail(err)
	}
	cfg := libcni.NewCNIConfigWithCacheDir(pluginDirs(), *cacheDir, nil)

	switch verb {
	case "status":
		doStatus(ctx, cfg, list)
		return
	case "gc":
		doGC(ctx, cfg, list, args[2:])
		return
	}

	pairs, err := parseArgs(*cniArgs)
	if err != nil {
		die(exitUsage, "%v", err)
	}
	caps, err := parseCaps(*capsJSON)
	if err != nil {
		die(exitUsage, "%v", err)
	}
	rt := &libcni.RuntimeConf{
		ContainerID:    args[2],
		NetNS:          args[3],
		IfName:         "eth0",
		Args:           pairs,
		CapabilityArgs: caps,
	}
	if len(args) == 5 {
		rt.IfName = args[4]
	}

	switch verb {
	case "add":
		result, err := cfg.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		if err := result.PrintTo(os.Stdout); err != nil {
			die(exitCNIError, "printing result: %v", err)
		}
		fmt.Fprintln(os.Stdout)
	case "check":
		if *fromCache {
			list, rt = withCachedConfig(cfg, list, rt)
		}
		if err := cfg.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if *fromCache {
			list, rt = withCachedConfig(cfg, list, rt)
		}
		if err := cfg.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	}
	os.Exit(exitOK)
}
