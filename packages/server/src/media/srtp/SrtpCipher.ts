/**
 * The cryptography of one SRTP context, without its state: given the rollover counter, sequence
 * number or SRTCP index, it writes protected or unprotected bytes into a buffer the caller
 * sized. `SrtpContext` keeps the state (ROCs, SRTCP indexes, replay windows) and picks one of
 * two implementations: `NodeCryptoSrtpCipher`, and the native addon's, byte for byte the same.
 */
export interface SrtpCipher {
  /**
   * `output` holds the header to send in its first `headerLength` bytes and is as long as that,
   * the payload (`packet` from `payloadStart`) and the tag: encrypts the payload after the
   * header and appends the tag.
   */
  sealRtp(
    output: Buffer,
    headerLength: number,
    packet: Buffer,
    payloadStart: number,
    ssrc: number,
    roc: number,
    sequence: number,
  ): void;
  /**
   * Authenticates an SRTP packet whose header is `headerLength` long and writes the RTP packet
   * into `output` (as long as the packet without its tag); false when it is not authentic.
   */
  openRtp(
    packet: Buffer,
    headerLength: number,
    output: Buffer,
    ssrc: number,
    roc: number,
    sequence: number,
  ): boolean;
  /** Writes the SRTCP packet into `output` (the packet's length, the tag's and 4 for the index). */
  sealRtcp(packet: Buffer, output: Buffer, ssrc: number, index: number): void;
  /**
   * Authenticates an SRTCP packet and writes the RTCP packet into `output` (the packet's length
   * without tag and index); false when it is not authentic.
   */
  openRtcp(packet: Buffer, output: Buffer, ssrc: number, index: number, encrypted: boolean): boolean;
}
