
fuzz-box100001 €Ð•ÿ¼1*0.1.02R€Ð•ÿ¼1 RG
dns "quoted"
namehttps://example.test/2tls_untrustedR
Proxy CA2%€Ð•ÿ¼1 Z
dns0<8Z
dns_timeout2W€Ð•ÿ¼1 bL
mac:aa:bb:cc:dd:ee:ff10.0.0.2"switchb"
k²1º(
Â	timeoutÚ2€Ð•ÿ¼1 j2€Ð•ÿ¼1 r
internet2€Ð•ÿ¼1 z
f2$€Ð•ÿ¼1 ‚B
probe_sample/bound2'€Ð•ÿ¼1 Š
corrupt_store_quarantined2€Ð•ÿ¼1 ’

a