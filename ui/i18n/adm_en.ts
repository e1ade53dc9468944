<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="id">
<context>
    <name>Check</name>
    <message>
        <source>Pembaca e-KTP</source>
        <translation>e-KTP reader</translation>
    </message>
    <message>
        <source>Printer {queue}</source>
        <translation>Printer {queue}</translation>
    </message>
    <message>
        <source>Pemindai sidik jari</source>
        <translation>Fingerprint scanner</translation>
    </message>
    <message>
        <source>Pemindai QR</source>
        <translation>QR scanner</translation>
    </message>
    <message>
        <source>Blangko kartu</source>
        <translation>Blank cards</translation>
    </message>
    <message>
        <source>Server Dukcapil</source>
        <translation>Dukcapil server</translation>
    </message>
    <message>
        <source>Transaksi cetak</source>
        <translation>Print jobs</translation>
    </message>
    <message>
        <source>tidak terhubung</source>
        <translation>not connected</translation>
    </message>
    <message>
        <source>siap, tidak ada kartu</source>
        <translation>ready, no card</translation>
    </message>
    <message>
        <source>ada kartu di pembaca</source>
        <translation>a card is on the reader</translation>
    </message>
    <message>
        <source>siap</source>
        <translation>ready</translation>
    </message>
    <message>
        <source>{conditions}; {supplies}</source>
        <translation>{conditions}; {supplies}</translation>
    </message>
    <message>
        <source>{port}: {baud} baud, paket {packet} B, tingkat keamanan {security}</source>
        <translation>{port}: {baud} baud, {packet} B packets, security level {security}</translation>
    </message>
    <message>
        <source>{port}: siap</source>
        <translation>{port}: ready</translation>
    </message>
    <message>
        <source>{port}: {error}</source>
        <translation>{port}: {error}</translation>
    </message>
    <message>
        <source>{port}: tidak terhubung</source>
        <translation>{port}: not connected</translation>
    </message>
    <message>
        <source>{left} tersisa</source>
        <translation>{left} left</translation>
    </message>
    <message>
        <source>terhubung</source>
        <translation>connected</translation>
    </message>
    <message>
        <source>tidak sehat</source>
        <translation>not healthy</translation>
    </message>
    <message>
        <source>{unfinished} belum selesai, {pending} menunggu server</source>
        <translation>{unfinished} unfinished, {pending} waiting for the server</translation>
    </message>
    <message>
        <source>{text}</source>
        <translation>{text}</translation>
    </message>
</context>
<context>
    <name>Kind</name>
    <message>
        <source>Kartu Keluarga</source>
        <translation>Family Card (Kartu Keluarga)</translation>
    </message>
    <message>
        <source>KTP-el</source>
        <translation>Electronic ID card (KTP-el)</translation>
    </message>
    <message>
        <source>Kartu Identitas Anak</source>
        <translation>Child ID card (KIA)</translation>
    </message>
    <message>
        <source>Kutipan Akta Kelahiran</source>
        <translation>Birth certificate</translation>
    </message>
    <message>
        <source>Kutipan Akta Kematian</source>
        <translation>Death certificate</translation>
    </message>
    <message>
        <source>Kutipan Akta Perkawinan</source>
        <translation>Marriage certificate</translation>
    </message>
    <message>
        <source>Kutipan Akta Perceraian</source>
        <translation>Divorce certificate</translation>
    </message>
    <message>
        <source>Kutipan Akta Pengakuan Anak</source>
        <translation>Certificate of recognition of a child</translation>
    </message>
    <message>
        <source>Kutipan Akta Pengesahan Anak</source>
        <translation>Certificate of legitimation of a child</translation>
    </message>
    <message>
        <source>Surat Keterangan Pindah Datang WNI</source>
        <translation>Certificate of arrival (move)</translation>
    </message>
    <message>
        <source>Biodata Penduduk WNI</source>
        <translation>Resident&apos;s register extract</translation>
    </message>
    <message>
        <source>Surat Keterangan Pindah WNI</source>
        <translation>Move certificate (SKPWNI)</translation>
    </message>
</context>
<context>
    <name>Kiosk</name>
    <message>
        <source>A4</source>
        <translation>A4</translation>
    </message>
    <message>
        <source>kartu</source>
        <translation>card</translation>
    </message>
    <message>
        <source>Menyiapkan dokumen…</source>
        <translation>Preparing the document…</translation>
    </message>
    <message>
        <source>Mengirim ke printer…</source>
        <translation>Sending to the printer…</translation>
    </message>
    <message>
        <source>Printer sedang mencetak…</source>
        <translation>The printer is printing…</translation>
    </message>
    <message>
        <source>Mencatat pencetakan…</source>
        <translation>Recording the print…</translation>
    </message>
    <message>
        <source>Mohon hubungi petugas.</source>
        <translation>Please call an officer.</translation>
    </message>
    <message>
        <source>Verifikasi sidik jari</source>
        <translation>Fingerprint check</translation>
    </message>
    <message>
        <source>Letakkan jari telunjuk Anda pada pemindai sidik jari.</source>
        <translation>Place your index finger on the fingerprint scanner.</translation>
    </message>
    <message>
        <source>Selamat datang</source>
        <translation>Welcome</translation>
    </message>
    <message>
        <source>Masuk dengan NIK dan PIN</source>
        <translation>Sign in with NIK and PIN</translation>
    </message>
    <message>
        <source>Punya kode QR dari Dukcapil? Arahkan ke pemindai di bawah layar.</source>
        <translation>Have a QR code from Dukcapil? Hold it to the scanner below the screen.</translation>
    </message>
    <message>
        <source>Tempelkan e-KTP Anda pada pembaca kartu untuk mencetak dokumen kependudukan.</source>
        <translation>Place your e-KTP on the card reader to print your civil documents.</translation>
    </message>
    <message>
        <source>Masuk dengan NIK dan PIN untuk mencetak dokumen kependudukan.</source>
        <translation>Sign in with your NIK and PIN to print your civil documents.</translation>
    </message>
    <message>
        <source>Hapus</source>
        <translation>Clear</translation>
    </message>
    <message>
        <source>NIK (16 angka)</source>
        <translation>NIK (16 digits)</translation>
    </message>
    <message>
        <source>PIN ADM (6 angka)</source>
        <translation>ADM PIN (6 digits)</translation>
    </message>
    <message>
        <source>Masuk</source>
        <translation>Sign in</translation>
    </message>
    <message>
        <source>Batal</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Kode 8 angka dikirim oleh Dinas Dukcapil saat dokumen disetujui.</source>
        <translation>The 8-digit code was sent by Dukcapil when the document was approved.</translation>
    </message>
    <message>
        <source>Masukkan kode cetak</source>
        <translation>Enter the print code</translation>
    </message>
    <message>
        <source>Lanjut</source>
        <translation>Continue</translation>
    </message>
    <message>
        <source>Sentuh dokumen yang akan dicetak, lalu masukkan kode cetaknya:</source>
        <translation>Touch a document to print, then enter its print code:</translation>
    </message>
    <message>
        <source>Tidak ada dokumen yang siap dicetak.</source>
        <translation>No documents are ready to print.</translation>
    </message>
    <message>
        <source>Halaman sebelumnya</source>
        <translation>Previous page</translation>
    </message>
    <message>
        <source>Halaman berikutnya</source>
        <translation>Next page</translation>
    </message>
    <message>
        <source>Cetak</source>
        <translation>Print</translation>
    </message>
    <message>
        <source>Halo, {name}</source>
        <translation>Hello, {name}</translation>
    </message>
    <message>
        <source>Kode diterima · siap dicetak</source>
        <translation>Code accepted · ready to print</translation>
    </message>
    <message>
        <source>Halaman {n} dari {total}</source>
        <translation>Page {n} of {total}</translation>
    </message>
    <message>
        <source>Sedang mencetak</source>
        <translation>Printing</translation>
    </message>
    <message>
        <source>Mohon tunggu, jangan tinggalkan anjungan.</source>
        <translation>Please wait; do not leave the kiosk.</translation>
    </message>
    <message>
        <source>{name} ({n} dari {total})</source>
        <translation>{name} ({n} of {total})</translation>
    </message>
    <message>
        <source>Selesai mencetak.</source>
        <translation>Printing finished.</translation>
    </message>
    <message>
        <source>Silakan ambil dokumen Anda</source>
        <translation>Please take your documents</translation>
    </message>
    <message>
        <source>Jangan lupa mengambil kembali e-KTP Anda.</source>
        <translation>Remember to take back your e-KTP.</translation>
    </message>
    <message>
        <source>Selesai</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>{n} dokumen telah dicetak.</source>
        <translation>{n} documents printed.</translation>
    </message>
    <message>
        <source>Maaf, terjadi kendala</source>
        <translation>Sorry, something went wrong</translation>
    </message>
    <message>
        <source>Dokumen yang belum tercetak tetap dapat dicetak nanti.</source>
        <translation>Documents not printed yet can still be printed later.</translation>
    </message>
    <message>
        <source>Kembali ke awal</source>
        <translation>Back to the start</translation>
    </message>
    <message>
        <source>Mode teknisi</source>
        <translation>Technician mode</translation>
    </message>
    <message>
        <source>Masukkan PIN teknisi</source>
        <translation>Enter the technician PIN</translation>
    </message>
    <message>
        <source>Diagnostik anjungan</source>
        <translation>Kiosk diagnostics</translation>
    </message>
    <message>
        <source>Periksa perangkat</source>
        <translation>Check the devices</translation>
    </message>
    <message>
        <source>Cetak halaman uji A4</source>
        <translation>Print the A4 test page</translation>
    </message>
    <message>
        <source>Tes sidik jari dan QR</source>
        <translation>Test fingerprint and QR</translation>
    </message>
    <message>
        <source>Nonaktifkan anjungan</source>
        <translation>Close the kiosk</translation>
    </message>
    <message>
        <source>Aktifkan anjungan</source>
        <translation>Open the kiosk</translation>
    </message>
    <message>
        <source>Memeriksa…</source>
        <translation>Checking…</translation>
    </message>
    <message>
        <source>Anjungan nonaktif: {reason}</source>
        <translation>Kiosk closed: {reason}</translation>
    </message>
    <message>
        <source>Anjungan sedang tidak dapat digunakan</source>
        <translation>This kiosk cannot be used right now</translation>
    </message>
    <message>
        <source>Silakan menggunakan anjungan lain atau layanan di kantor Dinas Dukcapil.</source>
        <translation>Please use another kiosk or the service desk at the Dukcapil office.</translation>
    </message>
    <message>
        <source>Identitas</source>
        <translation>Identity</translation>
    </message>
    <message>
        <source>Dokumen</source>
        <translation>Documents</translation>
    </message>
    <message>
        <source>Kode</source>
        <translation>Code</translation>
    </message>
    <message>
        <source>Langkah {n} dari {total}: {name}</source>
        <translation>Step {n} of {total}: {name}</translation>
    </message>
    <message>
        <source>ANJUNGAN DUKCAPIL MANDIRI</source>
        <translation>DUKCAPIL SELF-SERVICE KIOSK</translation>
    </message>
    <message>
        <source>Kontras</source>
        <translation>Contrast</translation>
    </message>
    <message>
        <source>Suara</source>
        <translation>Voice</translation>
    </message>
    <message>
        <source>Posisi rendah</source>
        <translation>Low reach</translation>
    </message>
    <message>
        <source>Teks besar</source>
        <translation>Large text</translation>
    </message>
    <message>
        <source>Anjungan sedang disiapkan</source>
        <translation>The kiosk is getting ready</translation>
    </message>
    <message>
        <source>Memeriksa perangkat dan menyelesaikan pencetakan sebelumnya…</source>
        <translation>Checking the devices and finishing earlier prints…</translation>
    </message>
    <message>
        <source>Memeriksa kode cetak</source>
        <translation>Checking the print code</translation>
    </message>
    <message>
        <source>Mohon tunggu sebentar…</source>
        <translation>One moment, please…</translation>
    </message>
    <message>
        <source>Membaca e-KTP</source>
        <translation>Reading your e-KTP</translation>
    </message>
    <message>
        <source>Jangan angkat kartu Anda dari pembaca.</source>
        <translation>Do not lift your card from the reader.</translation>
    </message>
    <message>
        <source>Memuat dokumen</source>
        <translation>Loading documents</translation>
    </message>
    <message>
        <source>Mengambil dokumen Anda yang telah disetujui…</source>
        <translation>Fetching your approved documents…</translation>
    </message>
    <message>
        <source>aktif</source>
        <translation>on</translation>
    </message>
    <message>
        <source>tidak aktif</source>
        <translation>off</translation>
    </message>
    <message>
        <source>Layanan gratis · Dinas Kependudukan dan Pencatatan Sipil</source>
        <translation>Free service · Department of Population and Civil Registration</translation>
    </message>
    <message>
        <source>Sesi akan berakhir dalam {seconds} detik. Sentuh layar untuk melanjutkan.</source>
        <translation>The session ends in {seconds} seconds. Touch the screen to continue.</translation>
    </message>
    <message>
        <source>Sesi berakhir dalam {seconds} detik</source>
        <translation>Session ends in {seconds} seconds</translation>
    </message>
</context>
<context>
    <name>Notice</name>
    <message>
        <source>Sidik jari tidak cocok dengan e-KTP. Silakan masuk dengan NIK dan PIN.</source>
        <translation>The fingerprint does not match the e-KTP. Please sign in with your NIK and PIN.</translation>
    </message>
    <message>
        <source>Jari tidak terbaca. Tempelkan kembali e-KTP dan letakkan jari pada pemindai.</source>
        <translation>The finger could not be read. Place your e-KTP again and put your finger on the scanner.</translation>
    </message>
    <message>
        <source>Sidik jari kurang jelas. Bersihkan jari lalu letakkan dengan rata.</source>
        <translation>The fingerprint is unclear. Clean your finger and place it flat.</translation>
    </message>
    <message>
        <source>Pemindai sidik jari bermasalah. Silakan masuk dengan NIK dan PIN.</source>
        <translation>The fingerprint scanner has a problem. Please sign in with your NIK and PIN.</translation>
    </message>
    <message>
        <source>Kartu ini bukan e-KTP. Tempelkan e-KTP Anda.</source>
        <translation>This card is not an e-KTP. Place your e-KTP.</translation>
    </message>
    <message>
        <source>Data pada e-KTP tidak sah. Silakan hubungi petugas Dukcapil.</source>
        <translation>The data on the e-KTP is not valid. Please see a Dukcapil officer.</translation>
    </message>
    <message>
        <source>e-KTP tidak dapat diverifikasi. Silakan hubungi petugas Dukcapil.</source>
        <translation>The e-KTP could not be verified. Please see a Dukcapil officer.</translation>
    </message>
    <message>
        <source>e-KTP terangkat sebelum selesai dibaca. Tempelkan kembali e-KTP Anda.</source>
        <translation>The e-KTP was lifted before it was read. Place your e-KTP again.</translation>
    </message>
    <message>
        <source>Pembaca kartu sedang bermasalah. Silakan hubungi petugas.</source>
        <translation>The card reader has a problem. Please call an officer.</translation>
    </message>
    <message>
        <source>e-KTP tidak dapat dibaca. Silakan coba lagi atau hubungi petugas.</source>
        <translation>The e-KTP could not be read. Please try again or call an officer.</translation>
    </message>
    <message>
        <source>e-KTP tidak dapat dibaca. Silakan coba lagi.</source>
        <translation>The e-KTP could not be read. Please try again.</translation>
    </message>
    <message>
        <source>Terlalu banyak percobaan yang salah. Silakan coba lagi nanti atau hubungi petugas.</source>
        <translation>Too many wrong attempts. Please try again later or call an officer.</translation>
    </message>
    <message>
        <source>Dokumen tidak lolos pemeriksaan keaslian. Silakan hubungi petugas.</source>
        <translation>The document failed its authenticity check. Please call an officer.</translation>
    </message>
    <message>
        <source>Server Dukcapil sedang tidak dapat dihubungi. Silakan coba lagi nanti.</source>
        <translation>The Dukcapil server cannot be reached right now. Please try again later.</translation>
    </message>
    <message>
        <source>Permintaan ditolak oleh server Dukcapil. Silakan hubungi petugas.</source>
        <translation>The Dukcapil server refused the request. Please call an officer.</translation>
    </message>
    <message>
        <source>Server Dukcapil sedang bermasalah. Silakan coba lagi nanti.</source>
        <translation>The Dukcapil server has a problem. Please try again later.</translation>
    </message>
    <message>
        <source>Anjungan sedang bermasalah. Silakan hubungi petugas.</source>
        <translation>The kiosk has a problem. Please call an officer.</translation>
    </message>
    <message>
        <source>Dokumen gagal dicetak. Dokumen tetap dapat dicetak lagi nanti.</source>
        <translation>The document could not be printed. It can still be printed later.</translation>
    </message>
    <message>
        <source>Printer sedang bermasalah. Dokumen tetap dapat dicetak lagi nanti.</source>
        <translation>The printer has a problem. The document can still be printed later.</translation>
    </message>
    <message>
        <source>Terjadi kendala. Silakan coba lagi atau hubungi petugas.</source>
        <translation>Something went wrong. Please try again or call an officer.</translation>
    </message>
    <message>
        <source>NIK atau PIN tidak cocok.</source>
        <translation>The NIK or PIN does not match.</translation>
    </message>
    <message>
        <source>Kode cetak salah.</source>
        <translation>Wrong print code.</translation>
    </message>
    <message>
        <source>Kode QR tidak berlaku atau sudah dipakai.</source>
        <translation>The QR code is not valid or has been used.</translation>
    </message>
    <message>
        <source>Data yang dimasukkan salah.</source>
        <translation>The data entered is wrong.</translation>
    </message>
    <message>
        <source>Sisa {left} kali percobaan.</source>
        <translation>{left} attempts left.</translation>
    </message>
    <message>
        <source>Angkat e-KTP dari pembaca kartu, lalu tempelkan kembali.</source>
        <translation>Lift your e-KTP off the card reader, then place it there again.</translation>
    </message>
    <message>
        <source>Sidik jari kurang jelas; bersihkan jari dan letakkan dengan rata.</source>
        <translation>The fingerprint is unclear; clean your finger and place it flat.</translation>
    </message>
    <message>
        <source>Jari belum terbaca; letakkan jari pada pemindai.</source>
        <translation>No finger was read; place your finger on the scanner.</translation>
    </message>
    <message>
        <source>Sidik jari belum cocok.</source>
        <translation>The fingerprint did not match yet.</translation>
    </message>
    <message>
        <source>Coba lagi: {left} kesempatan tersisa.</source>
        <translation>Try again: {left} attempts left.</translation>
    </message>
    <message>
        <source>Sidik jari tidak dapat dicocokkan. Silakan masuk dengan NIK dan PIN.</source>
        <translation>The fingerprint could not be matched. Please sign in with your NIK and PIN.</translation>
    </message>
    <message>
        <source>Pemindai sidik jari tidak tersedia. Silakan masuk dengan NIK dan PIN.</source>
        <translation>The fingerprint scanner is not available. Please sign in with your NIK and PIN.</translation>
    </message>
    <message>
        <source>Pembaca e-KTP tidak terhubung.</source>
        <translation>The e-KTP reader is not connected.</translation>
    </message>
    <message>
        <source>Printer tidak dapat dihubungi.</source>
        <translation>The printer cannot be reached.</translation>
    </message>
    <message>
        <source>Pemindai sidik jari tidak terhubung.</source>
        <translation>The fingerprint scanner is not connected.</translation>
    </message>
    <message>
        <source>Perangkat anjungan belum siap.</source>
        <translation>The kiosk&apos;s devices are not ready.</translation>
    </message>
    <message>
        <source>Komponen pencetak dokumen tidak terpasang. Hubungi petugas.</source>
        <translation>A part the kiosk needs to print documents is not installed. Please ask the staff.</translation>
    </message>
    <message>
        <source>Anjungan sedang menyelesaikan pencetakan sebelumnya.</source>
        <translation>The kiosk is finishing earlier prints.</translation>
    </message>
    <message>
        <source>Tidak ada printer yang dapat digunakan.</source>
        <translation>No printer can be used.</translation>
    </message>
    <message>
        <source>Dalam perawatan oleh petugas.</source>
        <translation>Under maintenance by an officer.</translation>
    </message>
    <message>
        <source>Anjungan sedang diperbarui. Silakan kembali dalam beberapa menit.</source>
        <translation>This kiosk is being updated. Please come back in a few minutes.</translation>
    </message>
    <message>
        <source>Ditutup oleh petugas: {reason}</source>
        <translation>Closed by an officer: {reason}</translation>
    </message>
    <message>
        <source>Ditutup oleh kantor Dukcapil: {reason}</source>
        <translation>Closed by the Dukcapil office: {reason}</translation>
    </message>
    <message>
        <source>Jenis dokumen ini tidak dapat dicetak di anjungan ini.</source>
        <translation>This kind of document cannot be printed at this kiosk.</translation>
    </message>
    <message>
        <source>Blangko kartu sedang habis.</source>
        <translation>Blank cards have run out.</translation>
    </message>
    <message>
        <source>Printer sedang tidak tersedia.</source>
        <translation>The printer is not available right now.</translation>
    </message>
    <message>
        <source>Kertas printer sedang habis.</source>
        <translation>The printer is out of paper.</translation>
    </message>
    <message>
        <source>Kertas tersangkut di printer.</source>
        <translation>Paper is jammed in the printer.</translation>
    </message>
    <message>
        <source>Pintu printer terbuka.</source>
        <translation>The printer door is open.</translation>
    </message>
    <message>
        <source>Tinta/toner printer habis.</source>
        <translation>The printer is out of ink/toner.</translation>
    </message>
    <message>
        <source>Printer sedang tidak terhubung.</source>
        <translation>The printer is not connected right now.</translation>
    </message>
    <message>
        <source>Mencetak halaman uji…</source>
        <translation>Printing the test page…</translation>
    </message>
    <message>
        <source>Letakkan jari pada pemindai dan pindai sebuah kode QR…</source>
        <translation>Place a finger on the scanner and scan a QR code…</translation>
    </message>
    <message>
        <source>Tidak ada pemindai serial pada anjungan ini.</source>
        <translation>This kiosk has no serial scanners.</translation>
    </message>
    <message>
        <source>Sidik jari: jari terbaca, ciri-cirinya terekstraksi.</source>
        <translation>Fingerprint: finger imaged, features extracted.</translation>
    </message>
    <message>
        <source>Sidik jari: tidak ada jari dalam {seconds} detik.</source>
        <translation>Fingerprint: no finger within {seconds} seconds.</translation>
    </message>
    <message>
        <source>Sidik jari: gambar jari kurang jelas.</source>
        <translation>Fingerprint: the finger&apos;s image is unclear.</translation>
    </message>
    <message>
        <source>Sidik jari: gagal ({detail}).</source>
        <translation>Fingerprint: failed ({detail}).</translation>
    </message>
    <message>
        <source>QR: kode terbaca.</source>
        <translation>QR: code read.</translation>
    </message>
    <message>
        <source>QR: tidak ada kode dalam {seconds} detik.</source>
        <translation>QR: no code within {seconds} seconds.</translation>
    </message>
    <message>
        <source>Gagal: {detail}</source>
        <translation>Failed: {detail}</translation>
    </message>
    <message>
        <source>{detail}</source>
        <translation>{detail}</translation>
    </message>
    <message>
        <source>Anjungan dibuka kembali.</source>
        <translation>The kiosk is open again.</translation>
    </message>
</context>
</TS>
