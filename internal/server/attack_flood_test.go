package server

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// attackLoginFlood: 50 clients (50 addresses) send logins with new user
// names as fast as they are answered, 20 each, for at most a minute, with
// the default argon2id parameters (64 MiB). The server's peak RSS and a
// bystander's /healthz latency are measured; an admin logs in meanwhile.
func attackLoginFlood(tg *target) attackRow {
	before, _ := tg.rss()
	p := tg.probe("127.0.0.2")
	stopRSS := make(chan struct{})
	rssDone := make(chan int)
	go func() {
		top := 0
		for {
			cur, _ := tg.rss()
			top = max(top, cur)
			select {
			case <-stopRSS:
				rssDone <- top
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	deadline := time.Now().Add(time.Minute)
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			c := clientFrom(fmt.Sprintf("127.0.1.%d", i+1), 30*time.Second)
			for j := 0; j < 20 && time.Now().Before(deadline); j++ {
				b, _ := json.Marshal(loginRequest{Username: fmt.Sprintf("user-%d-%d-%x", i, j, rand.Uint64()), Password: fmt.Sprintf("guess-%x", rand.Uint64())})
				res, err := c.Post(tg.base+"/api/v1/session", "application/json", strings.NewReader(string(b)))
				code := 0
				if err == nil {
					code = res.StatusCode
					if code == 503 && res.Header.Get("Retry-After") == "" {
						code = -503
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		})
	}
	// An admin logs in during the flood, retrying after 503.
	adminIn := make(chan string, 1)
	go func() {
		c := clientFrom("127.0.0.3", 30*time.Second)
		start := time.Now()
		for time.Since(start) < time.Minute {
			b, _ := json.Marshal(loginRequest{Username: "admin", Password: adminPassword})
			res, err := c.Post(tg.base+"/api/v1/session", "application/json", strings.NewReader(string(b)))
			if err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					adminIn <- fmt.Sprintf("admin logged in after %s", time.Since(start).Round(10*time.Millisecond))
					return
				}
			}
			time.Sleep(time.Second)
		}
		adminIn <- "admin could not log in within a minute"
	}()
	wg.Wait()
	close(stopRSS)
	peakDuring := <-rssDone
	_, hwm := tg.rss()
	lat, _, probesOK := p.end()
	admin := <-adminIn
	n, unexpected := 0, []string{}
	for code, k := range codes {
		n += k
		if code != 401 && code != 429 && code != 503 {
			unexpected = append(unexpected, fmt.Sprintf("%d x%d", code, k))
		}
	}
	bounded := peakDuring < 512<<10
	return attackRow{"login flood (50 addresses, new names)", n, len(unexpected) == 0 && bounded && probesOK && strings.HasPrefix(admin, "admin logged"),
		fmt.Sprintf("answers %v; RSS %d MiB before, peak %d MiB during the flood (VmHWM since start-up, mirror included: %d MiB); %s; %s%s",
			codes, before>>10, peakDuring>>10, hwm>>10, lat, admin, summary(unexpected, ""))}
}

// loadPURLs are Go modules the corpus has advisories for.
var loadPURLs = []string{
	"pkg:golang/golang.org/x/net@v0.1.0", "pkg:golang/golang.org/x/text@v0.3.0", "pkg:golang/golang.org/x/crypto@v0.0.0-20200622213623-75b288015ac9",
	"pkg:golang/github.com/gin-gonic/gin@v1.6.0", "pkg:golang/toolchain@1.16.0", "pkg:golang/github.com/gorilla/websocket@v1.4.0",
	"pkg:cargo/smallvec@1.6.0", "pkg:cargo/tokio@1.0.0", "pkg:cargo/hyper@0.14.0", "pkg:cargo/regex@1.5.0",
}

// attackLoad: 200 clients (200 addresses) each send 5 requests at once,
// scans and advisory searches; what the server cannot take at once is
// shed with 503 and Retry-After, the rest answered.
func attackLoad(tg *target) attackRow {
	p := tg.probe("127.0.0.2")
	var mu sync.Mutex
	var lat []time.Duration
	codes := map[string]int{}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			c := clientFrom(fmt.Sprintf("127.0.%d.%d", 2+i/250, 1+i%250), time.Minute)
			for j := range 5 {
				var req *http.Request
				if (i+j)%2 == 0 {
					body, _ := json.Marshal(scanRequest{PURLs: loadPURLs})
					req, _ = http.NewRequest("POST", tg.base+"/api/v1/scan", strings.NewReader(string(body)))
					req.Header.Set("Content-Type", "application/json")
				} else {
					req, _ = http.NewRequest("GET", tg.base+"/api/v1/advisories?limit=200&q="+[]string{"net", "crypto", "denial", "overflow"}[j%4], nil)
				}
				req.Header.Set("Authorization", "Bearer "+tg.keys["viewer"])
				start := time.Now()
				res, err := c.Do(req)
				d := time.Since(start)
				key := "error"
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					key = fmt.Sprint(res.StatusCode)
					if res.StatusCode == 503 && res.Header.Get("Retry-After") == "" {
						key = "503 without Retry-After"
					}
				}
				mu.Lock()
				codes[key]++
				if key == "200" {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	probes, _, probesOK := p.end()
	slices.Sort(lat)
	q := func(f float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(f*float64(len(lat))))].Round(time.Millisecond)
	}
	ok := probesOK && codes["200"] > 0
	for k := range codes {
		ok = ok && (k == "200" || k == "503")
	}
	return attackRow{"200 concurrent clients (scans, searches)", 1000, ok,
		fmt.Sprintf("answers %v; answered p50 %s p99 %s max %s; %s", codes, q(.5), q(.99), q(1), probes)}
}
