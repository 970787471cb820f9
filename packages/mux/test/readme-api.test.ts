import { describeReadmeApi } from '@provsync/testing/readme-suite'

describeReadmeApi(new URL('../', import.meta.url), 30)
