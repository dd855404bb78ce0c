import assert from 'node:assert/strict';
import { it } from 'node:test';

// The product currencies are the runtime's ICU list less a hand-kept list of withdrawn codes and units of account
// (catalog.service.ts WITHDRAWN_CURRENCIES, X_CURRENCIES_IN_USE). ICU keeps a withdrawn currency for old data and adds
// new ones: a Node upgrade can silently accept a code no payment can be taken in, or refuse one products use. This pins
// the list Node 24 (ICU 78) ships, so any change shows up here.
const ICU_CURRENCIES =
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP ' +
  'CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG ' +
  'HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD ' +
  'MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF ' +
  'SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU ' +
  'UZS VES VND VUV WST XAF XCD XCG XDR XOF XPF XSU YER ZAR ZMW ZWG ZWL';

it('pins the ICU currency list the runtime ships, which the product currency check is built on', () => {
  const pinned = new Set(ICU_CURRENCIES.split(' '));
  const shipped = new Set(Intl.supportedValuesOf('currency'));
  const added = [...shipped].filter((code) => !pinned.has(code));
  const dropped = [...pinned].filter((code) => !shipped.has(code));
  assert.deepEqual(
    { added, dropped },
    { added: [], dropped: [] },
    `This runtime's ICU (${process.versions.icu}) currency list differs from the pinned one. Review catalog.service.ts: ` +
      'an added code that is withdrawn (ISO 4217 List One and its amendments) or a unit of account goes in ' +
      'WITHDRAWN_CURRENCIES (or stays out of X_CURRENCIES_IN_USE); a dropped code may still be on stored products ' +
      '(an update keeping it must still pass). Then update ICU_CURRENCIES here.',
  );
});
